using System.Security.Authentication;

namespace FastSidecar.Transport;

/// <summary>
/// Observes the outcome of <see cref="System.Net.Security.SslStream"/> operations the transport gives up on (a read
/// pending at Dispose, a close_notify that may never finish): their failures are reported through the transport's
/// fault, and must never surface later as unobserved task exceptions.
/// </summary>
internal static class AbandonedOperations
{
    public static void Observe(Task? task)
    {
        if (task is { IsCompleted: true, IsFaulted: true })
        {
            _ = task.Exception; // observed: a failed handshake or alert is reported through Fault, never as unobserved
        }
        else
        {
            task?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    public static void ObserveRead(ValueTask<int> read)
    {
        if (read.IsCompleted)
        {
            try
            {
                read.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or AuthenticationException or InvalidOperationException)
            {
            }
        }
        else
        {
            Observe(read.AsTask());
        }
    }

    public static void ObserveWrite(ValueTask write)
    {
        if (write.IsCompleted)
        {
            try
            {
                write.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
        else
        {
            Observe(write.AsTask());
        }
    }
}
