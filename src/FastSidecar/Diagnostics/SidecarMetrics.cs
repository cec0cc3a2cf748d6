using System.Diagnostics;
using System.Diagnostics.Metrics;
using FastSidecar.Session;

namespace FastSidecar.Diagnostics;

/// <summary>
/// The <see cref="Meter"/> and <see cref="System.Diagnostics.ActivitySource"/> named <c>FastSidecar</c>, with instruments
/// named in OpenTelemetry's style (<c>fastsidecar.*</c>, durations in seconds, sizes in bytes).
/// </summary>
/// <remarks>
/// Cost when nobody listens: every recording site checks <see cref="Instrument.Enabled"/> (a field read) first, and the
/// observable instruments cost nothing until a listener collects them. The per-message counters are recorded on the
/// loop thread where it takes a message to write or hands one over, never on the application's <c>Send</c>/<c>Receive</c>.
/// Tags are pre-boxed statics, so recording allocates nothing.
/// </remarks>
internal static class SidecarMetrics
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "FastSidecar";

    private static readonly string? s_version = typeof(SidecarMetrics).Assembly.GetName().Version?.ToString(3);
    private static readonly Meter s_meter = new(Name, s_version);

    // Seconds, from 100 µs (a loopback connect or a quick Exit) to 10 s (the default connect timeout).
    private static readonly InstrumentAdvice<double> s_durationAdvice = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    private static int s_openConnections; // client connections opened and not yet ended

    public static readonly ActivitySource ActivitySource = new(Name, s_version);

    public static readonly Counter<long> MessagesSent = s_meter.CreateCounter<long>(
        "fastsidecar.messages.sent", "{message}", "Messages taken from the send queue and written to the connection, by type.");

    public static readonly Counter<long> MessagesReceived = s_meter.CreateCounter<long>(
        "fastsidecar.messages.received", "{message}", "Messages received and handed to the receive queue, by type.");

    public static readonly Counter<long> BytesSent = s_meter.CreateCounter<long>(
        "fastsidecar.bytes.sent", "By", "Payload bytes of the messages counted by fastsidecar.messages.sent.");

    public static readonly Counter<long> BytesReceived = s_meter.CreateCounter<long>(
        "fastsidecar.bytes.received", "By", "Payload bytes of the messages counted by fastsidecar.messages.received.");

    public static readonly Histogram<double> ConnectDuration = s_meter.CreateHistogram(
        "fastsidecar.connect.duration", "s", "From the start of a connect to the handshake's result, by outcome.", advice: s_durationAdvice);

    public static readonly Histogram<double> ExitDuration = s_meter.CreateHistogram(
        "fastsidecar.exit.duration", "s", "Duration of each step of Exit (and of the whole, step=total), by step and outcome.", advice: s_durationAdvice);

    public static readonly Counter<long> Faults = s_meter.CreateCounter<long>(
        "fastsidecar.faults", "{fault}", "Connections ended by a failure (protocol violation, socket error, silent peer, rejected handshake), by kind and close code.");

    // Observable instruments are read only when a listener collects.
    internal static readonly ObservableUpDownCounter<int> ActiveConnections = s_meter.CreateObservableUpDownCounter(
        "fastsidecar.connections.active", static () => Volatile.Read(ref s_openConnections), "{connection}", "Client connections open now.");

    internal static readonly ObservableGauge<int> QueueDepth = s_meter.CreateObservableGauge(
        "fastsidecar.queue.depth", ObserveQueueDepths, "{message}", "Messages waiting in the send queues (application to loop) and receive queues (loop to application) of live connections.");

    public static readonly KeyValuePair<string, object?> TextTag = new("fastsidecar.message.type", "text");
    public static readonly KeyValuePair<string, object?> BinaryTag = new("fastsidecar.message.type", "binary");

    /// <summary>The pre-boxed message-type tag.</summary>
    public static KeyValuePair<string, object?> TypeTag(MessageType type) => type == MessageType.Text ? TextTag : BinaryTag;

    /// <summary>Counts a client connection that opened (for <c>fastsidecar.connections.active</c>).</summary>
    public static void ConnectionOpened() => Interlocked.Increment(ref s_openConnections);

    /// <summary>Counts an opened client connection that ended.</summary>
    public static void ConnectionEnded() => Interlocked.Decrement(ref s_openConnections);

    /// <summary>The close code as a tag value ("none" when no close frame was exchanged); boxed only for a fault.</summary>
    public static object CloseCodeTag(WebSocketCloseCode? code) => code is { } c ? (int)c : "none";

    /// <summary>The fault's kind as a tag value: the family of <see cref="SidecarWebSocketException"/> it belongs to.</summary>
    public static string FaultKind(Exception? fault) => fault switch
    {
        WebSocketProtocolException => "protocol",
        WebSocketHandshakeException => "handshake",
        WebSocketConnectionException => "connection",
        WebSocketClosedException => "closed",
        _ => "other",
    };

    private static IEnumerable<Measurement<int>> ObserveQueueDepths()
    {
        (int send, int receive) = LiveConnections.QueueDepths();
        return
        [
            new Measurement<int>(send, new KeyValuePair<string, object?>("fastsidecar.queue", "send")),
            new Measurement<int>(receive, new KeyValuePair<string, object?>("fastsidecar.queue", "receive")),
        ];
    }
}
