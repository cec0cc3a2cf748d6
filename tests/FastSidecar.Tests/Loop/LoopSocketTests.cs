using System.Net.Sockets;
using FastSidecar.Loop;

namespace FastSidecar.Tests.LoopTests;

public sealed class LoopSocketTests
{
    private static readonly TimeSpan Generous = LoopTestSupport.Generous;

    public static TheoryData<bool> Selectors => new() { false, true };

    [Theory]
    [MemberData(nameof(Selectors))]
    public void Readable_fires_on_the_loop_thread_and_the_handler_drains_to_WouldBlock(bool portable)
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { ForcePortableSelector = portable, WaitStrategy = WaitStrategy.Blocking });
        Assert.Equal(!portable && OperatingSystem.IsLinux(), loop.UsesEpoll);
        (Socket left, Socket right) = LoopTestSupport.CreateSocketPair();
        using (left)
        using (right)
        {
            const int size = 100_000;
            var handler = new RecordingHandler(left, size) { LoopThreadId = loop.ThreadId };
            handler.Registration = loop.OnLoop(() => loop.Register(left, handler, SocketInterest.Read));

            byte[] payload = new byte[size];
            right.Blocking = true;
            Assert.Equal(size, right.Send(payload));

            Assert.True(handler.AllReceived.Wait(Generous));
            Assert.Equal(size, handler.Received);
            // Read on the loop: the handler may still be inside the callback that signalled, on its way to EAGAIN.
            Assert.True(loop.OnLoop(() => handler.SawWouldBlock));
            Assert.Equal(0, handler.WrongThreadCalls);

            loop.OnLoop(() => handler.Registration.Dispose());
            Assert.True(handler.Registration.IsDisposed);
        }
    }

    [Theory]
    [MemberData(nameof(Selectors))]
    public void Writable_fires_only_after_the_peer_drains_a_full_send_buffer(bool portable)
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { ForcePortableSelector = portable });
        (Socket left, Socket right) = LoopTestSupport.CreateSocketPair();
        using (left)
        using (right)
        {
            var handler = new RecordingHandler(left, int.MaxValue) { LoopThreadId = loop.ThreadId };
            long filled = loop.OnLoop(() =>
            {
                handler.Registration = loop.Register(left, handler, SocketInterest.None);
                byte[] chunk = new byte[64 * 1024];
                long total = 0;
                while (true)
                {
                    int n = left.Send(chunk, 0, chunk.Length, SocketFlags.None, out SocketError error);
                    if (error == SocketError.WouldBlock)
                    {
                        break;
                    }

                    Assert.Equal(SocketError.Success, error);
                    total += n;
                }

                handler.Registration.SetInterest(SocketInterest.Write);
                return total;
            });

            Assert.True(filled > 0);
            Assert.False(handler.Writable.Wait(200)); // nothing drained yet: the buffer is still full

            right.Blocking = true;
            byte[] sink = new byte[64 * 1024];
            long drained = 0;
            while (!handler.Writable.IsSet && drained < filled)
            {
                drained += right.Receive(sink);
            }

            Assert.True(handler.Writable.Wait(Generous));
            Assert.Equal(0, handler.WrongThreadCalls);
            // The handler went back to Read in OnWritable; had that not reached the selector, the still-writable socket
            // would be reported again on every cycle.
            Thread.Sleep(100);
            Assert.Equal(1, loop.OnLoop(() => handler.WritableCalls));
            loop.OnLoop(() => handler.Registration!.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(Selectors))]
    public void Peer_close_delivers_end_of_stream_to_OnReadable(bool portable)
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { ForcePortableSelector = portable });
        (Socket left, Socket right) = LoopTestSupport.CreateSocketPair();
        using (left)
        {
            var handler = new RecordingHandler(left, 3) { LoopThreadId = loop.ThreadId };
            handler.Registration = loop.OnLoop(() => loop.Register(left, handler, SocketInterest.Read));
            right.Blocking = true;
            right.Send("abc"u8.ToArray());
            right.Dispose();

            Assert.True(handler.AllReceived.Wait(Generous));
            Assert.Equal(3, handler.Received);
            loop.OnLoop(() => handler.Registration.Dispose());
        }
    }

    [Fact]
    public void Register_rejects_a_blocking_socket()
    {
        using var loop = new SidecarLoop();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.Throws<ArgumentException>(() => loop.OnLoop(() => loop.Register(socket, new RecordingHandler(socket, 0), SocketInterest.Read)));
    }

    [Fact]
    public void A_registration_disposed_during_a_batch_gets_no_further_callbacks()
    {
        using var loop = new SidecarLoop();
        (Socket left, Socket right) = LoopTestSupport.CreateSocketPair();
        using (left)
        using (right)
        {
            right.Blocking = true;
            right.Send(new byte[10]);
            Assert.True(SpinWait.SpinUntil(() => left.Available == 10, Generous));
            var handler = new DisposingHandler();
            // Readable and writable arrive in the same report; the first callback disposes the registration.
            loop.OnLoop(() => handler.Registration = loop.Register(left, handler, SocketInterest.Read | SocketInterest.Write));
            Assert.True(handler.Called.Wait(Generous));
            loop.OnLoop(() => { }); // one more cycle
            Assert.Equal(1, handler.Calls);
        }
    }

    private sealed class DisposingHandler : ISocketHandler
    {
        public SocketRegistration? Registration;
        public int Calls;

        public ManualResetEventSlim Called { get; } = new();

        public void OnReadable() => Handle();

        public void OnWritable() => Handle();

        public void OnError() => Handle();

        private void Handle()
        {
            Calls++;
            Registration!.Dispose();
            Called.Set();
        }
    }
}
