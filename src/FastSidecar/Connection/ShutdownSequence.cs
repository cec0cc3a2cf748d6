using System.Diagnostics;
using FastSidecar.Session;

namespace FastSidecar.Connection;

/// <summary>The four steps of <see cref="SidecarWebSocket.Exit()"/>, each timed and bounded.</summary>
/// <remarks>
/// The bound: step 2 ends by <see cref="SidecarOptions.CloseTimeout"/> after Exit started (the loop's close deadline
/// starts then too, so flushing a long queue to a peer that does not read cannot stretch it); steps 3 and 4 share one
/// <see cref="SidecarOptions.JoinTimeout"/>. The counts in the report are exact whenever the session ended: only then
/// does this thread become the send queue's consumer (see <see cref="ClientConnection"/>).
/// </remarks>
internal readonly struct ShutdownSequence(ClientConnection connection, bool wasOpen, WebSocketCloseCode closeCode, string? closeReason)
{
    // How late the loop's close timer may fire before Exit stops waiting for it and moves on to aborting.
    private static readonly TimeSpan s_timerSlack = TimeSpan.FromMilliseconds(20);

    // How long Exit waits for application threads still inside a queue operation (woken by the completed queues).
    private static readonly TimeSpan s_queueUserWait = TimeSpan.FromMilliseconds(100);

    public ShutdownReport Run(long exitStartedAt)
    {
        SidecarOptions options = connection.Options;
        var steps = new List<ShutdownStep>(4);

        // 1. Stop taking new work: Send throws from now on (the caller set the state); the loop stops delivering.
        long start = exitStartedAt;
        connection.StopDelivery();
        connection.SendQueue.Complete();
        connection.ReceiveQueue.Complete();
        steps.Add(new ShutdownStep(ShutdownStepKind.StopTakingWork, Stopwatch.GetElapsedTime(start), ShutdownOutcome.Completed, "sends refused, delivery stopped"));

        // 2. Close the WebSocket, waiting on the session's end event, never by polling.
        start = Stopwatch.GetTimestamp();
        CloseInitiator initiator;
        ShutdownStep closeStep;
        if (connection.HasEnded)
        {
            initiator = connection.End.Kind == SessionEndKind.ClosedByPeer ? CloseInitiator.Peer : CloseInitiator.Error;
            closeStep = new ShutdownStep(ShutdownStepKind.CloseWebSocket, Stopwatch.GetElapsedTime(start), ShutdownOutcome.Skipped,
                $"already closed ({connection.End.Kind})");
        }
        else
        {
            // If the loop has stopped, its teardown ends the session (or reports the start it dropped): same wait.
            connection.RequestClose(exitStartedAt, closeCode, closeReason);
            bool ended = connection.Ended.Wait(Remaining(exitStartedAt, options.CloseTimeout, s_timerSlack));
            // Who started the closing is what the session saw, not who asked last: a peer close (or a failure) already
            // under way when Exit was called finishes under Exit's wait but was not started by it.
            initiator = !wasOpen ? CloseInitiator.None
                : !ended ? CloseInitiator.Application
                : connection.End.Kind switch
                {
                    SessionEndKind.ClosedByPeer => CloseInitiator.Peer,
                    SessionEndKind.Failed => CloseInitiator.Error,
                    SessionEndKind.Aborted => CloseInitiator.None,
                    _ => CloseInitiator.Application,
                };
            closeStep = new ShutdownStep(ShutdownStepKind.CloseWebSocket, Stopwatch.GetElapsedTime(start), CloseOutcome(ended, connection.End),
                ended ? CloseDetail(connection.End) : "the loop did not finish the close in time");
        }

        steps.Add(closeStep);

        // 3. Stop the loop's work for this connection: abort whatever the close left open (its timers go with it),
        //    then return every queued buffer and count the messages that never went out or were never taken.
        start = Stopwatch.GetTimestamp();
        long joinDeadline = start + (long)(options.JoinTimeout.TotalSeconds * Stopwatch.Frequency);
        ShutdownOutcome stopOutcome = ShutdownOutcome.Completed;
        if (!connection.Ended.IsSet)
        {
            connection.RequestAbort();
            if (!connection.Ended.Wait(Remaining(start, options.JoinTimeout, TimeSpan.Zero)))
            {
                stopOutcome = ShutdownOutcome.TimedOut; // an owned loop's stop below aborts what it owns
            }
        }

        bool countsExact = DrainIfEnded();
        TimeSpan stopped = Stopwatch.GetElapsedTime(start);

        // 4. Join the thread, when the connection owns its loop; a shared loop belongs to whoever created it.
        start = Stopwatch.GetTimestamp();
        bool joined = true;
        ShutdownStep joinStep;
        if (connection.OwnsLoop)
        {
            TimeSpan left = TimeSpan.FromSeconds(Math.Max(0, joinDeadline - start) / (double)Stopwatch.Frequency);
            LoopStopReport stop = connection.Loop.Stop(left);
            joined = stop.Joined;
            // A loop that had not ended the session in step 3 has, if it joined: its teardown aborts it.
            countsExact = countsExact || DrainIfEnded();
            if (joined && countsExact)
            {
                connection.RecycleRings();
            }

            joinStep = new ShutdownStep(ShutdownStepKind.JoinThread, Stopwatch.GetElapsedTime(start), joined ? ShutdownOutcome.Completed : ShutdownOutcome.TimedOut,
                joined ? "loop thread ended" : $"loop thread still running after {options.JoinTimeout}");
        }
        else
        {
            if (countsExact)
            {
                // The loop let go of both queues before it set Ended (ClientConnection.PublishEnd): no join needed.
                connection.RecycleRings();
            }

            joinStep = new ShutdownStep(ShutdownStepKind.JoinThread, TimeSpan.Zero, ShutdownOutcome.Skipped, "shared loop: its owner joins it");
        }

        steps.Add(new ShutdownStep(ShutdownStepKind.StopLoop, stopped, stopOutcome, countsExact
            ? $"{connection.MessagesNotSentFromQueue} queued sends not sent, {connection.MessagesNotConsumed} received not consumed"
            : "the loop still holds the connection: queued messages were left to it, uncounted"));
        steps.Add(joinStep);
        SessionEnd end = connection.HasEnded ? connection.End : default;
        return new ShutdownReport(steps, end.CloseCode, end.CloseReason, initiator,
            end.MessagesSent, end.MessagesNotSent + connection.MessagesNotSentFromQueue, connection.MessagesReceived,
            connection.MessagesNotConsumed + connection.MessagesDroppedAtExit, joined,
            initiator == CloseInitiator.Application ? null : end.Fault, connection.MessagesInDoubt);
    }

    /// <summary>Drains both queues once the loop let go of the session; false (nothing touched) if it has not.</summary>
    private bool DrainIfEnded()
    {
        if (!connection.Ended.IsSet)
        {
            return false;
        }

        // A sender that passed its state check before Exit may still be placing a message: let it land, then count it.
        connection.WaitForQueueUsers(s_queueUserWait);
        connection.DrainQueues();
        return true;
    }

    private static TimeSpan Remaining(long since, TimeSpan budget, TimeSpan slack)
    {
        if (budget == Timeout.InfiniteTimeSpan)
        {
            return Timeout.InfiniteTimeSpan;
        }

        TimeSpan left = budget + slack - Stopwatch.GetElapsedTime(since);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private static ShutdownOutcome CloseOutcome(bool ended, in SessionEnd end) => !ended
        ? ShutdownOutcome.TimedOut
        : end.Kind switch
        {
            SessionEndKind.ClosedByUs when end.ClosedAbortively => ShutdownOutcome.TimedOut, // the TCP close never came
            SessionEndKind.ClosedByUs => ShutdownOutcome.Completed,
            SessionEndKind.CloseTimedOut => ShutdownOutcome.TimedOut,
            SessionEndKind.Aborted => ShutdownOutcome.Completed,
            SessionEndKind.ClosedByPeer => ShutdownOutcome.Completed,
            _ => ShutdownOutcome.Failed,
        };

    private static string CloseDetail(in SessionEnd end) => end.Kind switch
    {
        SessionEndKind.ClosedByUs when end.ClosedAbortively => "peer answered the close but kept TCP open: reset at the close timeout",
        SessionEndKind.ClosedByUs => "peer answered the close; TCP closed",
        SessionEndKind.CloseTimedOut => "peer silent: closed abortively at the close timeout",
        SessionEndKind.ClosedByPeer => "peer closed first",
        SessionEndKind.Aborted => "aborted before the connection opened",
        _ => "the connection failed while closing",
    };
}
