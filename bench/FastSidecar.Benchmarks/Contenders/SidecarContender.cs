namespace FastSidecar.Benchmarks.Contenders;

/// <summary>The product: <c>Send</c>, then <c>Receive</c> of the echo, through the synchronous API.</summary>
public sealed class SidecarContender : Contender
{
    private static readonly TimeSpan s_receiveTimeout = TimeSpan.FromSeconds(10);
    private readonly SidecarWebSocket _socket;
    private readonly WaitStrategy _strategy;

    public SidecarContender(Uri uri, WaitStrategy strategy, SidecarOptions? template = null)
    {
        _strategy = strategy;
        _socket = SidecarWebSocket.Connect(uri, new SidecarOptions
        {
            WaitStrategy = strategy,
            BufferPool = template?.BufferPool ?? SidecarBufferPool.Shared,
            CloseTimeout = template?.CloseTimeout ?? TimeSpan.FromSeconds(1),
        });
    }

    public SidecarWebSocket Socket => _socket;

    public override ContenderKind Kind => _strategy switch
    {
        WaitStrategy.BusySpin => ContenderKind.SidecarBusySpin,
        WaitStrategy.Blocking => ContenderKind.SidecarBlocking,
        _ => ContenderKind.SidecarSpinThenPark,
    };

    public override void RoundTrip()
    {
        ReadOnlySpan<byte> payload = Payload.Span;
        _socket.Send(payload, MessageType.Binary);
        using ReceivedMessage echo = _socket.Receive(s_receiveTimeout);
        if (echo.Length != payload.Length)
        {
            ThrowBadEcho(payload.Length, echo.Length);
        }
    }

    protected override void Dispose(bool disposing) => _socket.Exit();
}
