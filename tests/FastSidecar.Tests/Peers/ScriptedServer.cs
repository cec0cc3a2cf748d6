using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace FastSidecar.Tests.Peers;

/// <summary>
/// A hostile, scripted WebSocket server on a loopback port. Each accepted connection runs the script on its own thread,
/// step by step; whatever the client sends is parsed by a small frame parser of its own (independent of the library
/// under test) and recorded on the <see cref="ScriptedConnection"/>, as is the moment the client closed or reset TCP.
/// After the last step the connection keeps reading and recording until the client closes TCP, then closes its side
/// (unless the script ended with <see cref="ScriptStep.StaySilent"/>, which holds the socket open until disposal).
/// A failed step (timeout, predicate not met, client gone) stops the script and is reported by
/// <see cref="ScriptedConnection.AssertScriptSucceeded"/>.
/// </summary>
public sealed class ScriptedServer : IDisposable
{
    private readonly IReadOnlyList<ScriptStep> _script;
    private readonly bool _acceptEveryConnection;
    private readonly TcpListener _listener;
    private readonly Thread _acceptThread;
    private readonly List<ScriptedConnection> _connections = [];
    private readonly ManualResetEventSlim _stopping = new();
    private int _disposed;

    /// <summary>Starts listening on 127.0.0.1 (or <paramref name="address"/>) with an ephemeral port.</summary>
    /// <param name="script">Steps run for each connection, in order. <see cref="ScriptStep.StaySilent"/> may only be last.</param>
    /// <param name="acceptEveryConnection">False: accept one connection, then stop listening (later connects are refused). True: run the script on every connection.</param>
    /// <param name="address">The loopback address to listen on; 127.0.0.1 when null.</param>
    public ScriptedServer(IEnumerable<ScriptStep> script, bool acceptEveryConnection = false, IPAddress? address = null)
    {
        _script = [.. script];
        for (var i = 0; i < _script.Count - 1; i++)
        {
            if (_script[i].IsTerminal)
            {
                throw new ArgumentException($"'{_script[i].Description}' must be the last step.", nameof(script));
            }
        }

        _acceptEveryConnection = acceptEveryConnection;
        _listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "ScriptedServer accept" };
        _acceptThread.Start();
    }

    /// <summary>Creates a server from steps given inline.</summary>
    public ScriptedServer(params ScriptStep[] script)
        : this((IEnumerable<ScriptStep>)script)
    {
    }

    /// <summary>The listening port.</summary>
    public int Port { get; }

    /// <summary><c>ws://127.0.0.1:port/</c>.</summary>
    public Uri Uri => new(string.Create(CultureInfo.InvariantCulture, $"ws://127.0.0.1:{Port}/"));

    /// <summary>Connections accepted so far, in order.</summary>
    public IReadOnlyList<ScriptedConnection> Connections
    {
        get
        {
            lock (_connections)
            {
                return [.. _connections];
            }
        }
    }

    internal ManualResetEventSlim Stopping => _stopping;

    /// <summary>The GUID RFC 6455 appends to the key before hashing.</summary>
    public const string HandshakeGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>The <c>Sec-WebSocket-Accept</c> value for a client's key.</summary>
    public static string ComputeAccept(string key)
    {
#pragma warning disable CA5350 // RFC 6455 mandates SHA-1 here; it is a handshake check, not a security boundary.
        return Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + HandshakeGuid)));
#pragma warning restore CA5350
    }

    /// <summary>Waits for the connection with this index to be accepted; throws <see cref="TimeoutException"/> otherwise.</summary>
    public ScriptedConnection WaitForConnection(TimeSpan timeout, int index = 0)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        lock (_connections)
        {
            while (_connections.Count <= index)
            {
                var left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0 || !Monitor.Wait(_connections, TimeSpan.FromSeconds((double)left / Stopwatch.Frequency)))
                {
                    throw new TimeoutException($"ScriptedServer: connection {index} was not accepted within {timeout.TotalSeconds:0.###} s.");
                }
            }

            return _connections[index];
        }
    }

    /// <summary>Stops listening, closes every socket and joins every thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Set();
        _listener.Stop();
        _acceptThread.Join(TimeSpan.FromSeconds(5));
        foreach (var connection in Connections)
        {
            connection.Shutdown();
        }

        _stopping.Dispose();
    }

    private void AcceptLoop()
    {
        var index = 0;
        while (!_stopping.IsSet)
        {
            Socket socket;
            try
            {
                socket = _listener.AcceptSocket();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            socket.NoDelay = true;
            var connection = new ScriptedConnection(this, index++, socket, _script);
            lock (_connections)
            {
                _connections.Add(connection);
                Monitor.PulseAll(_connections);
            }

            connection.Start();
            if (!_acceptEveryConnection)
            {
                _listener.Stop();
                return;
            }
        }
    }
}

/// <summary>One frame the client sent, as parsed by the scripted server (payload unmasked).</summary>
public sealed class ClientFrame
{
    internal ClientFrame(bool fin, byte rsv, byte opcode, bool masked, uint maskKey, byte[] payload, TimeSpan receivedAfter)
    {
        Fin = fin;
        Rsv = rsv;
        Opcode = opcode;
        Masked = masked;
        MaskKey = maskKey;
        Payload = payload;
        ReceivedAfter = receivedAfter;
    }

    /// <summary>FIN bit.</summary>
    public bool Fin { get; }

    /// <summary>RSV1..3 as 3 bits (RSV1 = 4).</summary>
    public byte Rsv { get; }

    /// <summary>Opcode (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong).</summary>
    public byte Opcode { get; }

    /// <summary>Whether the MASK bit was set (RFC 6455 requires it from clients).</summary>
    public bool Masked { get; }

    /// <summary>The masking key as sent (big-endian), 0 when unmasked.</summary>
    public uint MaskKey { get; }

    /// <summary>The unmasked payload.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Time from accepting the connection to having read the whole frame.</summary>
    public TimeSpan ReceivedAfter { get; }

    /// <summary>Close status code of a close frame, null when the frame is not a close or has no body.</summary>
    public ushort? CloseCode => Opcode == ServerFrames.OpClose && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload.Span) : null;

    /// <summary>Close reason of a close frame (lenient UTF-8 decode), null otherwise.</summary>
    public string? CloseReason => Opcode == ServerFrames.OpClose && Payload.Length >= 2 ? Encoding.UTF8.GetString(Payload.Span[2..]) : null;

    /// <summary>The payload decoded as UTF-8 (lenient), for text frames and messages in failure output.</summary>
    public string Text => Encoding.UTF8.GetString(Payload.Span);

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"op={Opcode} fin={Fin} rsv={Rsv} masked={Masked} len={Payload.Length}{(CloseCode is { } c ? $" close={c} '{CloseReason}'" : "")} at {ReceivedAfter.TotalMilliseconds:0.#} ms");
}

/// <summary>One step of a <see cref="ScriptedServer"/> script; build steps with the static factories.</summary>
public sealed class ScriptStep
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private ScriptStep(string description, Action<ScriptContext> run, bool isTerminal = false)
    {
        Description = description;
        Run = run;
        IsTerminal = isTerminal;
    }

    /// <summary>What the step does, for failure messages.</summary>
    public string Description { get; }

    internal Action<ScriptContext> Run { get; }

    internal bool IsTerminal { get; }

    /// <summary>Reads the HTTP request up to CRLFCRLF (at most 64 KiB) and captures its headers and Sec-WebSocket-Key.</summary>
    public static ScriptStep ReadHandshakeRequest(TimeSpan? timeout = null) =>
        new("read handshake request", c => c.ReadHandshakeRequest(timeout ?? DefaultTimeout));

    /// <summary>Sends a correct 101 response for the captured key, optionally selecting a subprotocol and adding raw header lines.</summary>
    public static ScriptStep SendValidHandshakeResponse(string? subProtocol = null, params string[] extraHeaderLines) =>
        new("send valid handshake response", c =>
        {
            var key = c.Connection.SecWebSocketKey ?? throw new InvalidOperationException("no Sec-WebSocket-Key captured; run ReadHandshakeRequest first");
            var head = new StringBuilder()
                .Append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
                .Append(ScriptedServer.ComputeAccept(key)).Append("\r\n");
            if (subProtocol is not null)
            {
                head.Append("Sec-WebSocket-Protocol: ").Append(subProtocol).Append("\r\n");
            }

            foreach (var line in extraHeaderLines)
            {
                head.Append(line).Append("\r\n");
            }

            c.Send(Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()));
        });

    /// <summary>Sends a response head built from the captured key (null when none): for wrong accepts, bad statuses and so on.</summary>
    public static ScriptStep SendHandshakeResponse(Func<string?, string> buildResponseHead) =>
        new("send custom handshake response", c => c.Send(Encoding.ASCII.GetBytes(buildResponseHead(c.Connection.SecWebSocketKey))));

    /// <summary>Writes the bytes as they are.</summary>
    public static ScriptStep SendRaw(byte[] bytes) =>
        new(string.Create(CultureInfo.InvariantCulture, $"send {bytes.Length} raw bytes"), c => c.Send(bytes));

    /// <summary>Writes the bytes <paramref name="chunkSize"/> at a time with a pause between chunks (NoDelay is on, so chunks leave as separate segments).</summary>
    public static ScriptStep SendRawTrickle(byte[] bytes, int chunkSize, TimeSpan delay) =>
        new(string.Create(CultureInfo.InvariantCulture, $"trickle {bytes.Length} bytes by {chunkSize}"), c =>
        {
            for (var offset = 0; offset < bytes.Length; offset += chunkSize)
            {
                c.Send(bytes.AsSpan(offset, Math.Min(chunkSize, bytes.Length - offset)));
                if (offset + chunkSize < bytes.Length)
                {
                    c.Wait(delay);
                }
            }
        });

    /// <summary>Reads the next client frame and fails the script unless <paramref name="predicate"/> holds.</summary>
    public static ScriptStep ExpectFrame(string description, Func<ClientFrame, bool> predicate, TimeSpan? timeout = null) =>
        new("expect " + description, c =>
        {
            var frame = c.ReadFrame(timeout ?? DefaultTimeout);
            if (!predicate(frame))
            {
                throw new InvalidOperationException($"expected {description}, got {frame}");
            }
        });

    /// <summary>Reads the next client frame; it must be a masked close frame, with <paramref name="code"/> when given.</summary>
    public static ScriptStep ExpectClose(ushort? code = null, TimeSpan? timeout = null) =>
        ExpectFrame(code is null ? "a masked close frame" : string.Create(CultureInfo.InvariantCulture, $"a masked close frame with {code}"),
            f => f.Opcode == ServerFrames.OpClose && f.Masked && (code is null || f.CloseCode == code), timeout);

    /// <summary>Reads (and records) frames until the client closes or resets TCP; fails on timeout.</summary>
    public static ScriptStep ExpectTcpClose(TimeSpan? timeout = null) =>
        new("expect the client to close TCP", c => c.WaitForEof(timeout ?? DefaultTimeout));

    /// <summary>Pauses the script (interrupted by disposal).</summary>
    public static ScriptStep Delay(TimeSpan delay) =>
        new(string.Create(CultureInfo.InvariantCulture, $"delay {delay.TotalMilliseconds:0.#} ms"), c => c.Wait(delay));

    /// <summary>Sends FIN (shutdown of the sending side); the connection goes on reading what the client sends.</summary>
    public static ScriptStep CloseTcp() => new("close TCP (FIN)", c => c.CloseTcp());

    /// <summary>Closes with linger 0, so the client sees RST; nothing more is read.</summary>
    public static ScriptStep ResetTcp() => new("reset TCP (RST)", c => c.ResetTcp());

    /// <summary>Last step only: sends nothing more and keeps the socket open until the server is disposed, still recording what the client sends and when it closes.</summary>
    public static ScriptStep StaySilent() => new("stay silent", c => c.Connection.MarkSilent(), isTerminal: true);

    /// <summary>Anything else, written against <see cref="ScriptContext"/>.</summary>
    public static ScriptStep Custom(string description, Action<ScriptContext> run) => new(description, run);

    /// <inheritdoc />
    public override string ToString() => Description;
}

/// <summary>What a step can do on its connection.</summary>
public sealed class ScriptContext
{
    private const int MaxHandshakeBytes = 64 * 1024;
    private const long MaxFramePayload = 256L * 1024 * 1024;

    private readonly Socket _socket;
    private readonly ManualResetEventSlim _stopping;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    internal ScriptContext(ScriptedConnection connection, Socket socket, ManualResetEventSlim stopping)
    {
        Connection = connection;
        _socket = socket;
        _stopping = stopping;
    }

    /// <summary>The connection being scripted (handshake data, frames recorded so far).</summary>
    public ScriptedConnection Connection { get; }

    /// <summary>Writes all the bytes.</summary>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = _socket.Send(bytes);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Waits for <paramref name="delay"/> or until the server is disposed.</summary>
    public void Wait(TimeSpan delay)
    {
        if (_stopping.Wait(delay))
        {
            throw new OperationCanceledException("the scripted server is being disposed");
        }
    }

    /// <summary>Reads, records and returns the next client frame.</summary>
    public ClientFrame ReadFrame(TimeSpan timeout)
    {
        var deadline = Deadline(timeout);
        Fill(2, deadline);
        var b0 = _buffer[_start];
        var b1 = _buffer[_start + 1];
        var masked = (b1 & 0x80) != 0;
        long length = b1 & 0x7F;
        var headerLength = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + (masked ? 4 : 0);
        Fill(headerLength, deadline);
        var at = _start + 2;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(at));
            at += 2;
        }
        else if (length == 127)
        {
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(at));
            at += 8;
        }

        if (length is < 0 or > MaxFramePayload)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"client frame claims {(ulong)length} payload bytes"));
        }

        var maskKey = masked ? BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(at)) : 0u;
        _start += headerLength;

        var payload = new byte[length];
        var copied = 0;
        while (copied < payload.Length)
        {
            Fill(1, deadline);
            var n = Math.Min(_end - _start, payload.Length - copied);
            _buffer.AsSpan(_start, n).CopyTo(payload.AsSpan(copied));
            _start += n;
            copied += n;
        }

        if (masked)
        {
            for (var i = 0; i < payload.Length; i++)
            {
                payload[i] ^= (byte)(maskKey >> (8 * (3 - (i & 3))));
            }
        }

        var frame = new ClientFrame((b0 & 0x80) != 0, (byte)((b0 >> 4) & 0x7), (byte)(b0 & 0x0F), masked, maskKey, payload, Connection.Elapsed);
        Connection.Record(frame);
        return frame;
    }

    internal void ReadHandshakeRequest(TimeSpan timeout)
    {
        var deadline = Deadline(timeout);
        int end;
        while ((end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (_end - _start >= MaxHandshakeBytes)
            {
                throw new InvalidDataException("handshake request exceeds 64 KiB");
            }

            Fill(_end - _start + 1, deadline);
        }

        var text = Encoding.ASCII.GetString(_buffer, _start, end + 4);
        _start += end + 4;
        Connection.SetHandshake(text);
    }

    internal void WaitForEof(TimeSpan timeout)
    {
        var deadline = Deadline(timeout);
        try
        {
            while (true)
            {
                ReadFrame(TimeSpan.FromSeconds(Math.Max(0, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency)));
            }
        }
        catch (EndOfStreamException) when (Connection.ClientClosedTcp)
        {
            // What this step waits for.
        }
    }

    internal void CloseTcp()
    {
        _socket.Shutdown(SocketShutdown.Send);
        Connection.MarkServerClosed(reset: false);
    }

    internal void ResetTcp()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
        Connection.MarkServerClosed(reset: true);
    }

    /// <summary>After the script: read and record frames until EOF, reset or disposal.</summary>
    internal void Drain()
    {
        try
        {
            while (!Connection.ClientClosedTcp)
            {
                ReadFrame(Timeout.InfiniteTimeSpan);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException)
        {
            Connection.Fail("after the script", ex);
            // Keep noticing when the client closes, even though its bytes no longer parse.
            try
            {
                while (true)
                {
                    _start = _end;
                    Fill(1, long.MaxValue);
                }
            }
            catch (Exception inner) when (inner is EndOfStreamException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // EOF/reset are recorded by Fill; disposal ends the wait.
        }
    }

    private static long Deadline(TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Makes at least <paramref name="count"/> unread bytes available.</summary>
    private void Fill(int count, long deadline)
    {
        if (_end - _start >= count)
        {
            return;
        }

        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_buffer.Length < count)
        {
            Array.Resize(ref _buffer, Math.Max(count, _buffer.Length * 2));
        }

        while (_end < count)
        {
            if (Connection.ClientClosedTcp)
            {
                throw new EndOfStreamException("the client closed TCP");
            }

            if (_stopping.IsSet)
            {
                throw new OperationCanceledException("the scripted server is being disposed");
            }

            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                throw new TimeoutException("the client sent nothing more in time");
            }

            // Short polls so that disposal is noticed promptly without closing the socket under a blocked call.
            var pollMicros = (int)Math.Min(100_000, left * 1_000_000 / Stopwatch.Frequency);
            if (!_socket.Poll(Math.Max(1, pollMicros), SelectMode.SelectRead))
            {
                continue;
            }

            int n;
            try
            {
                n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                Connection.MarkClientClosed(reset: true);
                throw new EndOfStreamException("the client reset TCP", ex);
            }

            if (n == 0)
            {
                Connection.MarkClientClosed(reset: false);
                throw new EndOfStreamException("the client closed TCP");
            }

            _end += n;
        }
    }
}

/// <summary>What happened on one accepted connection: handshake, frames the client sent, TCP closes, script outcome.</summary>
public sealed class ScriptedConnection
{
    private readonly ScriptedServer _server;
    private readonly Socket _socket;
    private readonly IReadOnlyList<ScriptStep> _script;
    private readonly Thread _thread;
    private readonly long _acceptedAt = Stopwatch.GetTimestamp();
    private readonly List<ClientFrame> _frames = [];
    private readonly object _gate = new();
    private bool _scriptDone;
    private bool _clientClosed;
    private bool _silent;
    private bool _serverReset;

    internal ScriptedConnection(ScriptedServer server, int index, Socket socket, IReadOnlyList<ScriptStep> script)
    {
        _server = server;
        Index = index;
        _socket = socket;
        _script = script;
        _thread = new Thread(Run) { IsBackground = true, Name = string.Create(CultureInfo.InvariantCulture, $"ScriptedServer connection {index}") };
    }

    /// <summary>0 for the first accepted connection.</summary>
    public int Index { get; }

    /// <summary>The raw request head (through CRLFCRLF), once read.</summary>
    public string? HandshakeRequest { get; private set; }

    /// <summary>Request headers by name (case-insensitive; repeated headers joined with ", ").</summary>
    public IReadOnlyDictionary<string, string> RequestHeaders { get; private set; } = new Dictionary<string, string>();

    /// <summary>The client's Sec-WebSocket-Key, once read.</summary>
    public string? SecWebSocketKey => RequestHeaders.TryGetValue("Sec-WebSocket-Key", out var key) ? key.Trim() : null;

    /// <summary>Every frame the client sent so far, in order.</summary>
    public IReadOnlyList<ClientFrame> Frames
    {
        get
        {
            lock (_gate)
            {
                return [.. _frames];
            }
        }
    }

    /// <summary>True once the client closed (FIN) or reset TCP.</summary>
    public bool ClientClosedTcp
    {
        get
        {
            lock (_gate)
            {
                return _clientClosed;
            }
        }
    }

    /// <summary>True when the client's close was a reset rather than a FIN.</summary>
    public bool ClientResetTcp { get; private set; }

    /// <summary>Time from accept to the client's FIN/RST, when seen.</summary>
    public TimeSpan? ClientClosedTcpAfter { get; private set; }

    /// <summary>True once a CloseTcp or ResetTcp step ran.</summary>
    public bool ServerClosedTcp { get; private set; }

    /// <summary>The first failure: a step that threw, or unparseable bytes after the script.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Description of the failed step ("after the script" for failures while draining).</summary>
    public string? FailedStep { get; private set; }

    internal TimeSpan Elapsed => Stopwatch.GetElapsedTime(_acceptedAt);

    /// <summary>Waits until every step ran (or one failed).</summary>
    public bool WaitForScript(TimeSpan timeout) => WaitUntil(() => _scriptDone, timeout);

    /// <summary>Waits until the client closed or reset TCP.</summary>
    public bool WaitForClientTcpClose(TimeSpan timeout) => WaitUntil(() => _clientClosed, timeout);

    /// <summary>Waits for a recorded frame matching <paramref name="predicate"/> (frames already seen count); null on timeout or when the client closed first.</summary>
    public ClientFrame? WaitForFrame(Func<ClientFrame, bool> predicate, TimeSpan timeout)
    {
        ClientFrame? found = null;
        WaitUntil(() => (found = _frames.FirstOrDefault(predicate)) is not null || _clientClosed, timeout);
        return found;
    }

    /// <summary>Waits for the script to finish and throws, with what the client sent, unless every step succeeded.</summary>
    public void AssertScriptSucceeded(TimeSpan timeout)
    {
        if (!WaitForScript(timeout))
        {
            throw new Xunit.Sdk.XunitException($"script on connection {Index} did not finish within {timeout.TotalSeconds:0.#} s.\n{Describe()}");
        }

        if (Failure is not null)
        {
            throw new Xunit.Sdk.XunitException($"script step '{FailedStep}' failed on connection {Index}: {Failure.Message}\n{Describe()}");
        }
    }

    /// <summary>A readable summary for failure messages.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        lock (_gate)
        {
            text.Append("frames from the client:");
            foreach (var frame in _frames)
            {
                text.Append("\n  ").Append(frame);
            }

            text.Append(CultureInfo.InvariantCulture,
                $"\nclient closed TCP: {_clientClosed}{(ClientResetTcp ? " (reset)" : "")}{(ClientClosedTcpAfter is { } t ? $" at {t.TotalMilliseconds:0.#} ms" : "")}");
        }

        return text.ToString();
    }

    internal void Start() => _thread.Start();

    internal void Record(ClientFrame frame) => Signal(() => _frames.Add(frame));

    internal void SetHandshake(string text)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in text.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                var name = line[..colon].Trim();
                var value = line[(colon + 1)..].Trim();
                headers[name] = headers.TryGetValue(name, out var previous) ? previous + ", " + value : value;
            }
        }

        RequestHeaders = headers;
        HandshakeRequest = text;
    }

    internal void MarkClientClosed(bool reset) => Signal(() =>
    {
        if (!_clientClosed)
        {
            _clientClosed = true;
            ClientResetTcp = reset;
            ClientClosedTcpAfter = Elapsed;
        }
    });

    internal void MarkServerClosed(bool reset)
    {
        ServerClosedTcp = true;
        _serverReset |= reset;
    }

    internal void MarkSilent() => _silent = true;

    internal void Fail(string step, Exception ex)
    {
        lock (_gate)
        {
            if (Failure is null)
            {
                Failure = ex;
                FailedStep = step;
            }
        }
    }

    internal void Shutdown()
    {
        // The thread polls the server's stopping event; closing afterwards never races a call in progress.
        if (!_thread.Join(TimeSpan.FromSeconds(5)))
        {
            _socket.Close(0);
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        _socket.Dispose();
    }

    private void Run()
    {
        var context = new ScriptContext(this, _socket, _server.Stopping);
        foreach (var step in _script)
        {
            try
            {
                step.Run(context);
            }
            catch (Exception ex)
            {
                Fail(step.Description, ex);
                break;
            }
        }

        Signal(() => _scriptDone = true);
        if (_serverReset)
        {
            return;
        }

        if (Failure is null || !_clientClosed)
        {
            try
            {
                context.Drain();
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
            {
                return;
            }
        }

        if (!_silent && !_server.Stopping.IsSet)
        {
            // The client is done; close our side so that many-connection runs do not pile up sockets.
            _socket.Close();
        }
        else if (_silent)
        {
            // A silent peer never closes on its own: hold the socket until the server is disposed.
            _server.Stopping.Wait();
        }
    }

    private void Signal(Action change)
    {
        lock (_gate)
        {
            change();
            Monitor.PulseAll(_gate);
        }
    }

    private bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        lock (_gate)
        {
            while (!condition())
            {
                var left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0)
                {
                    return false;
                }

                Monitor.Wait(_gate, TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
            }

            return true;
        }
    }
}

/// <summary>Builders for frames a server sends (unmasked unless asked), including malformed ones.</summary>
public static class ServerFrames
{
    /// <summary>Opcodes.</summary>
    public const byte OpContinuation = 0, OpText = 1, OpBinary = 2, OpClose = 8, OpPing = 9, OpPong = 10;

    /// <summary>A whole frame. <paramref name="rsv"/> is 3 bits (RSV1 = 4). <paramref name="lengthEncoding"/> forces the 7-bit (0), 16-bit (126) or 64-bit (127) length form; null picks the minimal one.</summary>
    public static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, byte rsv = 0, bool masked = false, uint maskKey = 0x1A2B3C4D, int? lengthEncoding = null)
    {
        var header = Header(opcode, payload.Length, fin, rsv, masked, maskKey, lengthEncoding);
        var frame = new byte[header.Length + payload.Length];
        header.CopyTo(frame, 0);
        payload.CopyTo(frame.AsSpan(header.Length));
        if (masked)
        {
            for (var i = 0; i < payload.Length; i++)
            {
                frame[header.Length + i] ^= (byte)(maskKey >> (8 * (3 - (i & 3))));
            }
        }

        return frame;
    }

    /// <summary>Only a header, claiming <paramref name="payloadLength"/> bytes (for truncated or oversized frames).</summary>
    public static byte[] Header(byte opcode, long payloadLength, bool fin = true, byte rsv = 0, bool masked = false, uint maskKey = 0x1A2B3C4D, int? lengthEncoding = null)
    {
        var encoding = lengthEncoding ?? (payloadLength <= 125 ? 0 : payloadLength <= ushort.MaxValue ? 126 : 127);
        var header = new byte[2 + (encoding == 126 ? 2 : encoding == 127 ? 8 : 0) + (masked ? 4 : 0)];
        header[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0x0F));
        var at = 2;
        switch (encoding)
        {
            case 126:
                header[1] = 126;
                BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)payloadLength);
                at += 2;
                break;
            case 127:
                header[1] = 127;
                BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(2), (ulong)payloadLength);
                at += 8;
                break;
            default:
                header[1] = (byte)payloadLength;
                break;
        }

        if (masked)
        {
            header[1] |= 0x80;
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(at), maskKey);
        }

        return header;
    }

    /// <summary>A text frame carrying the UTF-8 of <paramref name="text"/>.</summary>
    public static byte[] Text(string text, bool fin = true) => Frame(OpText, Encoding.UTF8.GetBytes(text), fin);

    /// <summary>A binary frame.</summary>
    public static byte[] Binary(ReadOnlySpan<byte> payload, bool fin = true) => Frame(OpBinary, payload, fin);

    /// <summary>A continuation frame.</summary>
    public static byte[] Continuation(ReadOnlySpan<byte> payload, bool fin = true) => Frame(OpContinuation, payload, fin);

    /// <summary>A ping.</summary>
    public static byte[] Ping(ReadOnlySpan<byte> payload) => Frame(OpPing, payload);

    /// <summary>A pong.</summary>
    public static byte[] Pong(ReadOnlySpan<byte> payload) => Frame(OpPong, payload);

    /// <summary>A close frame with a status code (any value, valid or not) and a reason.</summary>
    public static byte[] Close(ushort code, string reason = "")
    {
        var reasonBytes = Encoding.UTF8.GetBytes(reason);
        var payload = new byte[2 + reasonBytes.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        reasonBytes.CopyTo(payload, 2);
        return Frame(OpClose, payload);
    }

    /// <summary>A close frame without a body (status 1005 on the receiving side).</summary>
    public static byte[] CloseEmpty() => Frame(OpClose, []);

    /// <summary>Joins byte arrays, e.g. several frames for one <see cref="ScriptStep.SendRaw"/>.</summary>
    public static byte[] Concat(params byte[][] parts)
    {
        var all = new byte[parts.Sum(p => p.Length)];
        var at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(all, at);
            at += part.Length;
        }

        return all;
    }
}
