using System.Runtime.ExceptionServices;

namespace FastSidecar.Tests.Queues;

/// <summary>Dedicated threads for queue tests (the thread pool would add its own scheduling noise), with the first
/// exception of any of them rethrown on the test thread.</summary>
internal sealed class TestThreads
{
    private readonly List<Thread> _threads = [];
    private ExceptionDispatchInfo? _failure;

    public void Start(string name, Action body)
    {
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(ex), null);
            }
        })
        {
            IsBackground = true, // a broken wake-up must fail the test, not hang the test host
            Name = name,
        };
        _threads.Add(thread);
        thread.Start();
    }

    public void JoinAll(TimeSpan timeout)
    {
        foreach (Thread thread in _threads)
        {
            Assert.True(thread.Join(timeout), $"thread {thread.Name} did not finish within {timeout}");
        }

        _failure?.Throw();
    }

    public static void WaitUntil(Func<bool> condition, string what) =>
        Assert.True(SpinWait.SpinUntil(condition, TimeSpan.FromSeconds(10)), $"timed out waiting until {what}");
}

/// <summary>Stress tests want both cores to themselves: they run alone, not beside other test classes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QueueStressGroup
{
    public const string Name = "Queue stress";
}
