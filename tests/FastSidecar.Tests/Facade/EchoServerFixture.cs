using FastSidecar.Buffers;
using FastSidecar.Testing;

namespace FastSidecar.Tests.Facade;

/// <summary>One embedded echo server per test class, with its own buffer pool so client-side counts stay clean.</summary>
public sealed class EchoServerFixture : IDisposable
{
    internal SidecarBufferPool ServerPool { get; } = new();

    internal LoopbackEchoServer Server { get; }

    public EchoServerFixture() => Server = new LoopbackEchoServer(WaitStrategy.Blocking, ServerPool);

    public void Dispose() => Server.Dispose();
}
