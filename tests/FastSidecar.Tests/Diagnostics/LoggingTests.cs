using System.Net.WebSockets;
using FastSidecar.Buffers;
using FastSidecar.Testing;
using FastSidecar.Tests.Facade;
using Microsoft.Extensions.Logging;
using LogEntry = FastSidecar.Tests.Diagnostics.CapturingLoggerFactory.LogEntry;

namespace FastSidecar.Tests.Diagnostics;

/// <summary>Each logger factory belongs to one connection, so these run in parallel with everything else.</summary>
public sealed class LoggingTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_connection_logs_connect_handshake_close_and_the_exit_report_under_the_FastSidecar_category()
    {
        var logs = new CapturingLoggerFactory();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { LoggerFactory = logs, BufferPool = new SidecarBufferPool() }))
        {
            ws.Send("hello");
            ws.Receive(Generous).Dispose();
            ws.Exit(WebSocketCloseStatus.NormalClosure, "done");
        }

        Assert.Equal(["FastSidecar"], logs.Categories);
        Assert.Single(logs.Named("Connecting"));
        LogEntry connected = Assert.Single(logs.Named("Connected"));
        Assert.Equal(LogLevel.Information, connected.Level);
        LogEntry closed = Assert.Single(logs.Named("Closed"));
        Assert.Equal(1000, closed.State["CloseCode"]);
        Assert.Equal("done", closed.State["CloseReason"]);
        Assert.Equal("application", closed.State["Initiator"]);
        LogEntry exited = Assert.Single(logs.Named("Exited"));
        Assert.Equal(1L, exited.State["Sent"]);
        Assert.Equal(true, exited.State["ThreadJoined"]);
        Assert.Equal(4, logs.Named("ExitStep").Length);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Nothing_is_logged_per_message()
    {
        int CountFor(int messages)
        {
            var logs = new CapturingLoggerFactory();
            using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { LoggerFactory = logs }))
            {
                for (int i = 0; i < messages; i++)
                {
                    ws.Send("m"u8);
                    ws.Receive(Generous).Dispose();
                }
            }

            return logs.Entries.Count;
        }

        Assert.Equal(CountFor(1), CountFor(500));
    }

    [Fact]
    public void A_close_by_the_peer_is_logged_with_its_code_and_the_peer_as_initiator()
    {
        var logs = new CapturingLoggerFactory();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.CloseAfterEcho), new SidecarOptions { LoggerFactory = logs }))
        {
            ws.Send("one");
            ws.Receive(Generous).Dispose();
            Assert.False(ws.TryReceive(Generous, out _));
        }

        LogEntry closed = Assert.Single(logs.Named("Closed"));
        Assert.Equal(1001, closed.State["CloseCode"]);
        Assert.Equal("peer", closed.State["Initiator"]);
    }

    [Fact]
    public void A_failure_is_logged_once_as_a_warning_with_its_exception()
    {
        var logs = new CapturingLoggerFactory();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.Reset), new SidecarOptions { LoggerFactory = logs }))
        {
            ws.Send("boom");
            Assert.ThrowsAny<SidecarWebSocketException>(() => ws.Receive(Generous));
        }

        LogEntry faulted = Assert.Single(logs.Named("Faulted"));
        Assert.Equal(LogLevel.Warning, faulted.Level);
        Assert.IsType<WebSocketConnectionException>(faulted.Exception);
        Assert.Equal("connection", faulted.State["Kind"]);
    }

    [Fact]
    public void A_handshake_that_never_completes_is_logged_as_a_failed_connect()
    {
        var logs = new CapturingLoggerFactory();
        var options = new SidecarOptions { LoggerFactory = logs, ConnectTimeout = TimeSpan.FromMilliseconds(100) };
        Assert.Throws<WebSocketHandshakeException>(() => SidecarWebSocket.Connect(fixture.Server.StallingUri, options));
        LogEntry failed = Assert.Single(logs.Named("ConnectFailed"));
        Assert.Equal(LogLevel.Warning, failed.Level);
        Assert.Empty(logs.Named("Connected"));
    }

    [Fact]
    public void A_keep_alive_timeout_is_logged()
    {
        var logs = new CapturingLoggerFactory();
        using var peer = new NonReadingPeer();
        var options = new SidecarOptions
        {
            LoggerFactory = logs,
            KeepAliveInterval = TimeSpan.FromMilliseconds(100),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(100),
            CloseTimeout = TimeSpan.FromMilliseconds(100),
        };
        using (var ws = SidecarWebSocket.Connect(peer.Uri, options))
        {
            Assert.Throws<WebSocketConnectionException>(() => ws.Receive(Generous));
        }

        LogEntry timedOut = Assert.Single(logs.Named("KeepAliveTimedOut"));
        Assert.Equal(LogLevel.Warning, timedOut.Level);
        Assert.Single(logs.Named("Faulted"));
    }
}
