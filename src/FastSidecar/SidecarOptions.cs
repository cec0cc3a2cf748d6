using System.Net;
using System.Net.Security;
using System.Numerics;
using FastSidecar.Buffers;
using Microsoft.Extensions.Logging;

namespace FastSidecar;

/// <summary>
/// Settings of one <see cref="SidecarWebSocket"/>. Validated once, when the connection starts; an invalid value
/// throws <see cref="ArgumentException"/> naming the setting.
/// </summary>
public sealed class SidecarOptions
{
    /// <summary>The default settings.</summary>
    public static SidecarOptions Default { get; } = new();

    /// <summary>
    /// Deadline for resolving the host, connecting (to each of its addresses in turn, RFC 8305) and the opening handshake,
    /// all together. Default 10 s.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long <see cref="SidecarWebSocket.Exit()"/> waits for the peer's close frame (and its TCP close) before it
    /// closes the connection abortively. Default 1 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// After this long without a byte from the peer, the loop sends a ping. Default 30 s; zero or
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns keep-alive off.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long after a keep-alive ping the peer has to send anything (its pong, or any frame) before it is presumed dead
    /// and the connection fails with <see cref="WebSocketConnectionException"/>. Default 10 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <see cref="SidecarWebSocket.Exit()"/> waits for the loop thread to end. Default 2 s.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long <see cref="SidecarWebSocket.Send(ReadOnlySpan{byte}, MessageType)"/> blocks while the send queue is full. Default 5 s.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Messages the application may queue before <c>Send</c> blocks; a power of two. Default 4096.</summary>
    public int SendQueueCapacity { get; init; } = 4096;

    /// <summary>
    /// Received messages held for the application; a power of two. Default 4096. When it is full the loop stops
    /// reading the socket, so TCP flow control slows the peer down instead of memory growing.
    /// </summary>
    public int ReceiveQueueCapacity { get; init; } = 4096;

    /// <summary>The largest message accepted from the peer, in bytes; a bigger one fails the connection with 1009. Default 16 MiB.</summary>
    public long MaxMessageSize { get; init; } = 16 << 20;

    /// <summary>
    /// The longest a fragmented message may take from its first frame to its last; a peer still sending fragments after
    /// this fails the connection with 1008 (policy violation) and a <see cref="WebSocketProtocolException"/>. It bounds a
    /// peer that holds the connection with a message that never ends (for example endless zero-length continuation
    /// frames), which the message size limit cannot catch. Checked as frames arrive and by a timer, so a peer that stalls
    /// mid-message is caught too. Default 60 s; <see cref="Timeout.InfiniteTimeSpan"/> turns the bound off.
    /// </summary>
    public TimeSpan MaxFragmentedMessageDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The largest HTTP header block accepted in the opening handshake, in bytes. Default 16 KiB.</summary>
    public int MaxHandshakeHeaderBytes { get; init; } = 16 * 1024;

    /// <summary>
    /// How the loop thread waits when it has nothing to do, and how application threads wait in <c>Receive</c> (see
    /// <see cref="FastSidecar.WaitStrategy"/>). Default <see cref="FastSidecar.WaitStrategy.SpinThenPark"/>. With a shared
    /// <see cref="Loop"/> the loop's own strategy applies to both, and this setting is not used.
    /// </summary>
    public WaitStrategy WaitStrategy { get; init; } = WaitStrategy.SpinThenPark;

    /// <summary>Subprotocols offered in the handshake, in order of preference.</summary>
    public IReadOnlyList<string> SubProtocols { get; init; } = [];

    /// <summary>Extra request headers sent with the handshake.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>
    /// When set, permessage-deflate (RFC 7692) is offered with these parameters, as
    /// <c>ClientWebSocketOptions.DangerousDeflateOptions</c> does; null (the default) offers no extension. A window
    /// of 9 accepts a server that asks for 8 (zlib's 9-bit window never reaches further back than 250 bytes).
    /// </summary>
    public System.Net.WebSockets.WebSocketDeflateOptions? Deflate { get; init; }

    /// <summary>
    /// With permessage-deflate in force, messages shorter than this many bytes are sent uncompressed: below about a
    /// kilobyte compressing costs more CPU than it saves bandwidth. Default 1024 (OkHttp's choice); 0 compresses all.
    /// </summary>
    public int MinimumDeflateSize { get; init; } = 1024;

    /// <summary>
    /// A loop to share with other connections. When null (the default) the connection gets a loop of its own,
    /// which <see cref="SidecarWebSocket.Exit()"/> stops and joins.
    /// </summary>
    public SidecarLoop? Loop { get; init; }

    /// <summary>
    /// TLS settings for <c>wss://</c> connections, in the BCL's own type: certificate validation callback, client
    /// certificates, enabled protocols, cipher policy, revocation checking, a custom trust store
    /// (<see cref="SslClientAuthenticationOptions.CertificateChainPolicy"/>). Null (the default) means TLS 1.2 or 1.3
    /// as the system allows, the system's trust store, and the URI's host as the server name (sent with SNI and checked
    /// against the certificate). When <see cref="SslClientAuthenticationOptions.TargetHost"/> is empty the URI's host
    /// is used. The object is copied per connection, never changed.
    /// </summary>
    public SslClientAuthenticationOptions? Tls { get; init; }

    /// <summary>
    /// An HTTP proxy to tunnel through with <c>CONNECT</c>, for <c>ws://</c> and <c>wss://</c> alike (as
    /// <c>ClientWebSocketOptions.Proxy</c>): the proxy is asked about the http/https form of the URI, its bypass list
    /// is honoured, and Basic credentials come from <see cref="IWebProxy.Credentials"/>. Null (the default) connects
    /// directly: the environment's proxy variables are not read unless you pass <c>HttpClient.DefaultProxy</c> here.
    /// A proxy that refuses is a <see cref="WebSocketHandshakeException"/> naming the proxy, with its status.
    /// </summary>
    public IWebProxy? Proxy { get; init; }

    /// <summary>The pool that send and receive buffers come from. Default <see cref="SidecarBufferPool.Shared"/>.</summary>
    public SidecarBufferPool BufferPool { get; init; } = SidecarBufferPool.Shared;

    /// <summary>
    /// Where the connection logs (category <c>FastSidecar</c>): connecting, the handshake's result, the close (code,
    /// reason, who started it), failures, keep-alive timeouts and the Exit report. Nothing is logged per message.
    /// Default null: no logging.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The resolver for host names that need one (not IP literals, not <c>localhost</c>); null for the system's
    /// (<see cref="System.Net.Dns.GetHostAddressesAsync(string, CancellationToken)"/>). Internal: a seam for tests of
    /// slow and failing resolution.
    /// </summary>
    internal Func<string, CancellationToken, Task<System.Net.IPAddress[]>>? HostLookup { get; init; }

    /// <summary>
    /// Reconnecting after a lost connection (backoff, which endings qualify, the hook that resubscribes); null (the
    /// default) ends the connection at the first failure, as without it. See <see cref="ReconnectPolicy"/>.
    /// </summary>
    public ReconnectPolicy? Reconnect { get; init; }

    internal void Validate()
    {
        RequirePositive(ConnectTimeout, nameof(ConnectTimeout));
        RequireNonNegative(CloseTimeout, nameof(CloseTimeout));
        RequireNonNegative(JoinTimeout, nameof(JoinTimeout));
        RequireNonNegative(KeepAliveInterval, nameof(KeepAliveInterval));
        RequireNonNegative(KeepAliveTimeout, nameof(KeepAliveTimeout));
        RequireNonNegative(SendTimeout, nameof(SendTimeout));
        RequirePositive(MaxFragmentedMessageDuration, nameof(MaxFragmentedMessageDuration));
        RequirePowerOfTwo(SendQueueCapacity, nameof(SendQueueCapacity));
        RequirePowerOfTwo(ReceiveQueueCapacity, nameof(ReceiveQueueCapacity));
        Reconnect?.Validate();
        if (MaxMessageSize <= 0 || MaxMessageSize > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxMessageSize), MaxMessageSize, $"MaxMessageSize must be between 1 and {Array.MaxLength} bytes.");
        }

        if (MaxHandshakeHeaderBytes < 256)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxHandshakeHeaderBytes), MaxHandshakeHeaderBytes, "MaxHandshakeHeaderBytes must be at least 256.");
        }

        if (!Enum.IsDefined(WaitStrategy))
        {
            throw new ArgumentOutOfRangeException(nameof(WaitStrategy), WaitStrategy, "Unknown wait strategy.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(MinimumDeflateSize, nameof(MinimumDeflateSize));
        ArgumentNullException.ThrowIfNull(SubProtocols, nameof(SubProtocols));
        ArgumentNullException.ThrowIfNull(Headers, nameof(Headers));
        ArgumentNullException.ThrowIfNull(BufferPool, nameof(BufferPool));
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
        }
    }

    private static void RequireNonNegative(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must not be negative.");
        }
    }

    private static void RequirePowerOfTwo(int value, string name)
    {
        if (value < 2 || !BitOperations.IsPow2(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a power of two of at least 2.");
        }
    }
}
