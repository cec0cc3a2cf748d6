using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FastSidecar.Tests.Peers;

/// <summary>
/// An in-process Kestrel echo server on 127.0.0.1 (any path; /deflate also accepts permessage-deflate) speaking <see cref="EchoProtocol"/>; a class fixture.
/// Fragmentation sends one frame per <c>SendAsync(endOfMessage: false)</c> call, splitting raw bytes.
/// ASP.NET Core's <see cref="WebSocket"/> cannot send a ping on demand (it only sends keep-alive frames on a timer,
/// which this peer turns off), so <c>@@ping:&lt;payload&gt;</c> is echoed like ordinary text.
/// </summary>
public class KestrelEchoPeer : IEchoPeer, IAsyncLifetime
{
    private readonly X509Certificate2? _certificate;

    /// <summary>A plain ws:// peer.</summary>
    public KestrelEchoPeer()
    {
    }

    /// <summary>A wss:// peer serving HTTPS with <paramref name="certificate"/>.</summary>
    protected KestrelEchoPeer(X509Certificate2 certificate) => _certificate = certificate;

    /// <summary>Largest message the peer reassembles; larger ones are refused with 1009.</summary>
    public const int MaxMessageSize = 128 * 1024 * 1024;

    private WebApplication? _app;

    /// <inheritdoc />
    public string Name => _certificate is null ? "kestrel" : "kestrel https";

    /// <inheritdoc />
    public int Port { get; private set; }

    /// <inheritdoc />
    public Uri Uri => _certificate is null
        ? new(string.Create(CultureInfo.InvariantCulture, $"ws://127.0.0.1:{Port}/"))
        : new(string.Create(CultureInfo.InvariantCulture, $"wss://localhost:{Port}/"));

    /// <inheritdoc />
    public SslClientAuthenticationOptions? ClientTls => _certificate is null ? null : Tls.TestCertificates.Trusting(_certificate);

    /// <inheritdoc />
    public bool SupportsServerPing => false;

    /// <inheritdoc />
    public bool FragmentsSplitUtf8Sequences => true;

    /// <summary>Starts a private peer outside xunit's fixture machinery; dispose it with <see cref="DisposeAsync"/>.</summary>
    public static async Task<KestrelEchoPeer> StartAsync()
    {
        var peer = new KestrelEchoPeer();
        await peer.InitializeAsync();
        return peer;
    }

    /// <summary>Starts a private peer on <paramref name="port"/> (a restart where its clients reconnect); dispose it with <see cref="DisposeAsync"/>.</summary>
    public static async Task<KestrelEchoPeer> StartAsync(int port)
    {
        var peer = new KestrelEchoPeer { _listenPort = port };
        await peer.InitializeAsync();
        return peer;
    }

    private int _listenPort; // 0: any free port

    /// <summary>Starts Kestrel on an ephemeral loopback port.</summary>
    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, _listenPort, listen =>
            {
                if (_certificate is not null)
                {
                    listen.UseHttps(_certificate);
                }
            });
            o.AddServerHeader = false;
        });

        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Run(HandleAsync);
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        _app = app;
    }

    /// <summary>Stops Kestrel at once, as a process that is killed would: open connections are aborted, not drained.</summary>
    public async Task StopAbruptlyAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync(new CancellationToken(canceled: true));
            await app.DisposeAsync();
        }
    }

    /// <summary>Stops Kestrel; open connections are aborted.</summary>
    public async Task DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        // Path /deflate accepts permessage-deflate when the client offers it (ClientWebSocket's server-side implementation).
        bool deflate = context.Request.Path.StartsWithSegments("/deflate", StringComparison.Ordinal);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { DangerousEnableCompression = deflate });
        // Stopping the host (or the client going away) cancels RequestAborted, so a fixture never waits on a connection.
        var ct = context.RequestAborted;
        var buffer = new byte[64 * 1024];
        var fragmentNext = 0;
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= MaxMessageSize)
                        {
                            await socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, "too big", ct);
                            return;
                        }

                        Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxMessageSize));
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription, ct);
                    return;
                }

                var message = buffer.AsMemory(0, length);
                if (result.MessageType == WebSocketMessageType.Text && message.Span.StartsWith("@@"u8))
                {
                    var command = Encoding.UTF8.GetString(message.Span[2..]);
                    if (command.StartsWith("fragment:", StringComparison.Ordinal))
                    {
                        fragmentNext = int.TryParse(command.AsSpan("fragment:".Length), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? Math.Max(1, n) : 1;
                        continue;
                    }

                    if (command.StartsWith("close", StringComparison.Ordinal) && TryParseClose(command, out var code, out var reason))
                    {
                        try
                        {
                            await socket.CloseAsync((WebSocketCloseStatus)code, reason, ct);
                            return;
                        }
                        catch (ArgumentException ex)
                        {
                            // The BCL refuses codes that are not valid on the wire, as the other peers' libraries do.
                            await socket.SendAsync(Encoding.UTF8.GetBytes(EchoProtocol.ErrorPrefix + ex.Message), WebSocketMessageType.Text, endOfMessage: true, ct);
                            continue;
                        }
                    }

                    if (command == "terminate")
                    {
                        context.Abort();
                        return;
                    }
                }

                if (fragmentNext > 1)
                {
                    var parts = fragmentNext;
                    var size = (length + parts - 1) / parts;
                    for (var i = 0; i < parts; i++)
                    {
                        var start = Math.Min(i * size, length);
                        var end = Math.Min(start + size, length);
                        await socket.SendAsync(message[start..end], result.MessageType, i == parts - 1, ct);
                    }
                }
                else
                {
                    await socket.SendAsync(message, result.MessageType, endOfMessage: true, ct);
                }

                fragmentNext = 0;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ConnectionAbortedException or IOException)
        {
            // The client went away or the host is stopping; nothing is left to answer.
        }
    }

    private static bool TryParseClose(string command, out int code, out string reason)
    {
        code = (int)WebSocketCloseStatus.NormalClosure;
        reason = string.Empty;
        if (command == "close")
        {
            return true;
        }

        if (!command.StartsWith("close:", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = command["close:".Length..];
        var sep = rest.IndexOf(':', StringComparison.Ordinal);
        reason = sep < 0 ? string.Empty : rest[(sep + 1)..];
        return int.TryParse(sep < 0 ? rest : rest[..sep], NumberStyles.Integer, CultureInfo.InvariantCulture, out code);
    }
}

/// <summary>The Kestrel echo peer over HTTPS, with a certificate made by the test for localhost.</summary>
public sealed class KestrelTlsEchoPeer : KestrelEchoPeer
{
    /// <summary>Serves wss:// with <see cref="Tls.TestCertificates.Localhost"/>.</summary>
    public KestrelTlsEchoPeer()
        : base(Tls.TestCertificates.Localhost)
    {
    }
}
