using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Loop;

namespace FastSidecar.Tests.LoopTests;

[Collection(ProcessWideLoopGroup.Name)]
public sealed class LoopStarvationTests
{
    private const int MessageSize = 64;
    private const int RoundTrips = 200;

    [Fact]
    public void The_loop_serves_an_echo_round_trip_while_every_thread_pool_thread_is_blocked()
    {
        using var server = new RawEchoServer();
        using var loop = new SidecarLoop();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(server.EndPoint);
        client.Blocking = false;
        var echo = new EchoClient(client);
        using (client)
        {
            echo.Registration = loop.OnLoop(() => loop.Register(client, echo, SocketInterest.Read));
            TimeSpan unstarved = Measure(loop, echo);

            ThreadPool.GetMaxThreads(out int maxWorkers, out int maxIo);
            ThreadPool.GetMinThreads(out int minWorkers, out _);
            var gate = new ManualResetEventSlim(); // not disposed: queued blockers may start after the test ends
            using var probeRan = new ManualResetEventSlim();
            try
            {
                Assert.True(ThreadPool.SetMaxThreads(Math.Max(minWorkers, Environment.ProcessorCount), maxIo));
                for (int i = 0; i < 256; i++)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(
                        _ => gate.Wait(),
                        null);
                }

                // The probe queues behind 256 blockers on a pool capped at a few threads (some already held by the
                // test runner): if it does not run, no pool thread is free.
                ThreadPool.UnsafeQueueUserWorkItem(_ => probeRan.Set(), null);
                Assert.False(probeRan.Wait(300), "the thread pool is not starved; the test proves nothing");

                TimeSpan starved = Measure(loop, echo);

                Assert.False(probeRan.IsSet);
                // Generous bound (shared 2-core machine): the point is that progress does not depend on the pool.
                Assert.True(starved < TimeSpan.FromSeconds(5), $"starved: {starved}, unstarved: {unstarved}");
            }
            finally
            {
                ThreadPool.SetMaxThreads(maxWorkers, maxIo);
                gate.Set();
            }

            Assert.True(probeRan.Wait(LoopTestSupport.Generous * 3));
            loop.OnLoop(() => echo.Registration!.Dispose());
        }
    }

    /// <summary>Total time of <see cref="RoundTrips"/> sequential echo round trips, each sent from the loop thread.</summary>
    private static TimeSpan Measure(SidecarLoop loop, EchoClient echo)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < RoundTrips; i++)
        {
            echo.Answered.Reset();
            loop.Post(echo.SendOne);
            Assert.True(echo.Answered.Wait(LoopTestSupport.Generous), $"round trip {i} timed out");
        }

        return Stopwatch.GetElapsedTime(start);
    }

    private sealed class EchoClient : ISocketHandler
    {
        private readonly Socket _socket;
        private readonly byte[] _message = new byte[MessageSize];
        private readonly byte[] _buffer = new byte[4096];
        private int _pending;

        public EchoClient(Socket socket)
        {
            _socket = socket;
            SendOne = () =>
            {
                _pending = MessageSize;
                int sent = _socket.Send(_message, 0, MessageSize, SocketFlags.None, out SocketError error);
                if (error != SocketError.Success || sent != MessageSize)
                {
                    throw new InvalidOperationException($"send: {error} {sent}");
                }
            };
        }

        public SocketRegistration? Registration { get; set; }

        public Action SendOne { get; }

        public ManualResetEventSlim Answered { get; } = new(false, spinCount: 1000);

        public void OnReadable()
        {
            while (true)
            {
                int n = _socket.Receive(_buffer, 0, _buffer.Length, SocketFlags.None, out SocketError error);
                if (error != SocketError.Success || n == 0)
                {
                    return;
                }

                _pending -= n;
                if (_pending == 0)
                {
                    Answered.Set();
                }
            }
        }

        public void OnWritable()
        {
        }

        public void OnError() => Registration?.Dispose();
    }

    /// <summary>A blocking echo server on its own dedicated thread: it needs no thread-pool thread to answer.</summary>
    private sealed class RawEchoServer : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly Thread _thread;
        private Socket? _connection;

        public RawEchoServer()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1);
            EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
            _thread = new Thread(Serve) { IsBackground = true, Name = "raw echo server" };
            _thread.Start();
        }

        public IPEndPoint EndPoint { get; }

        public void Dispose()
        {
            _listener.Dispose();
            _connection?.Dispose();
            _thread.Join(LoopTestSupport.Generous);
        }

        private void Serve()
        {
            try
            {
                _connection = _listener.Accept();
                _connection.NoDelay = true;
                byte[] buffer = new byte[4096];
                while (true)
                {
                    int n = _connection.Receive(buffer);
                    if (n == 0)
                    {
                        return;
                    }

                    _connection.Send(buffer, 0, n, SocketFlags.None);
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
