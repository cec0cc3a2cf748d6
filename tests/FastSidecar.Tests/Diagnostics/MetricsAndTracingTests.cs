using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using FastSidecar.Buffers;
using FastSidecar.Testing;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Diagnostics;

[Collection(DiagnosticsListeners.Name)]
public sealed class MetricsAndTracingTests(EchoServerFixture fixture)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public void Messages_and_bytes_are_counted_each_way_by_type()
    {
        using var meter = new MeterCapture();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = new SidecarBufferPool() }))
        {
            for (int i = 0; i < 3; i++)
            {
                ws.Send("text");
                ws.Receive(Generous).Dispose();
            }

            ws.Send(new byte[100]);
            ws.Receive(Generous).Dispose();
            ws.Exit();
        }

        Assert.Equal(3, meter.Sum("fastsidecar.messages.sent", ("fastsidecar.message.type", "text")));
        Assert.Equal(1, meter.Sum("fastsidecar.messages.sent", ("fastsidecar.message.type", "binary")));
        Assert.Equal(3, meter.Sum("fastsidecar.messages.received", ("fastsidecar.message.type", "text")));
        Assert.Equal(1, meter.Sum("fastsidecar.messages.received", ("fastsidecar.message.type", "binary")));
        Assert.Equal(112, meter.Sum("fastsidecar.bytes.sent"));
        Assert.Equal(112, meter.Sum("fastsidecar.bytes.received"));
    }

    [Fact]
    public void Active_connections_and_queue_depths_are_observable_gauges()
    {
        using var meter = new MeterCapture();
        var options = new SidecarOptions { BufferPool = new SidecarBufferPool() };
        using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, options))
        {
            meter.Collect();
            Assert.Equal(1, meter.Last("fastsidecar.connections.active"));
            // A handshake that is never answered keeps sends queued: the send queue's depth is visible.
            using var stalled = SidecarWebSocket.Start(fixture.Server.StallingUri, options);
            stalled.TrySend("1"u8);
            stalled.TrySend("2"u8);
            meter.Collect();
            Assert.Equal(2, meter.Last("fastsidecar.queue.depth", ("fastsidecar.queue", "send")));
            stalled.Exit();
        }

        meter.Collect();
        Assert.Equal(0, meter.Last("fastsidecar.connections.active"));
        Assert.Equal(0, meter.Last("fastsidecar.queue.depth", ("fastsidecar.queue", "send")));
    }

    [Fact]
    public void Connect_and_exit_durations_are_histograms_with_exit_tagged_by_step_and_outcome()
    {
        using var meter = new MeterCapture();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = new SidecarBufferPool() }))
        {
            ws.Exit();
        }

        Assert.Equal(1, meter.Count("fastsidecar.connect.duration", ("fastsidecar.outcome", "opened")));
        foreach (string step in new[] { "stop taking work", "close the WebSocket", "stop the loop", "join the thread", "total" })
        {
            Assert.Equal(1, meter.Count("fastsidecar.exit.duration", ("fastsidecar.exit.step", step), ("fastsidecar.exit.outcome", "completed")));
        }
    }

    [Fact]
    public void Faults_are_counted_by_kind_and_close_code()
    {
        using var meter = new MeterCapture();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.Reset), new SidecarOptions { BufferPool = new SidecarBufferPool() }))
        {
            ws.Send("boom");
            Assert.Throws<WebSocketConnectionException>(() => ws.Receive(Generous));
        }

        Assert.Equal(1, meter.Sum("fastsidecar.faults", ("fastsidecar.fault.kind", "connection"), ("fastsidecar.close.code", 1006)));
    }

    [Fact]
    public void Connect_and_exit_are_activities_of_the_FastSidecar_source()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "FastSidecar",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = new SidecarBufferPool() }))
        {
            ws.Exit();
        }

        Activity connect = Assert.Single(stopped, a => a.OperationName == "FastSidecar.Connect");
        Assert.Equal(fixture.Server.Uri.ToString(), connect.GetTagItem("url.full"));
        Assert.Equal(ActivityKind.Client, connect.Kind);
        Activity exit = Assert.Single(stopped, a => a.OperationName == "FastSidecar.Exit");
        Assert.Equal(1000, exit.GetTagItem("websocket.close.code"));
        Assert.Equal("application", exit.GetTagItem("fastsidecar.close.initiator"));
        Assert.Equal(4, exit.Events.Count());
    }

    [Fact]
    public void A_failed_connect_is_an_activity_with_an_error_status()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "FastSidecar",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        Assert.Throws<WebSocketHandshakeException>(() =>
            SidecarWebSocket.Connect(fixture.Server.StallingUri, new SidecarOptions { ConnectTimeout = TimeSpan.FromMilliseconds(100) }));
        Activity connect = Assert.Single(stopped, a => a.OperationName == "FastSidecar.Connect");
        Assert.Equal(ActivityStatusCode.Error, connect.Status);
    }

    [Fact]
    public void With_a_listener_attached_a_message_still_allocates_nothing_on_the_application_thread()
    {
        using var meter = new MeterCapture(keep: false);
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = new SidecarBufferPool() });
        for (int i = 0; i < 200; i++)
        {
            ws.Send("warm"u8);
            ws.Receive(Generous).Dispose();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            ws.Send("warm"u8);
            ws.Receive(Generous).Dispose();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(meter.Measurements > 0);
    }

    /// <summary>A <see cref="MeterListener"/> on the FastSidecar meter that keeps every measurement with its tags.</summary>
    private sealed class MeterCapture : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Name, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();
        private readonly bool _keep;
        private long _count;

        public MeterCapture(bool keep = true)
        {
            _keep = keep;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "FastSidecar")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
            _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
            _listener.Start();
        }

        public long Measurements => Interlocked.Read(ref _count);

        public void Collect() => _listener.RecordObservableInstruments();

        public double Sum(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Sum(m => m.Value);

        public int Count(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Count();

        public double Last(string name, params (string Key, object Value)[] tags) => Matching(name, tags).Last().Value;

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Name, double Value, KeyValuePair<string, object?>[] Tags)> Matching(string name, (string Key, object Value)[] tags) =>
            _measurements.Where(m => m.Name == name && tags.All(t => m.Tags.Any(kv => kv.Key == t.Key && Equals(kv.Value, t.Value))));

        private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Interlocked.Increment(ref _count);
            if (_keep)
            {
                _measurements.Enqueue((instrument.Name, value, tags.ToArray()));
            }
        }
    }
}
