using FastSidecar.Diagnostics;
using FastSidecar.Protocol;
using FastSidecar.Session;

namespace FastSidecar.Connection;

/// <summary>
/// The messages between the queues and the session, on the loop thread: received messages into the receive queue
/// (a burst announced to waiting consumers once), queued sends out of the send queue, each counted as it passes.
/// </summary>
internal sealed partial class ClientConnection
{
    bool ISessionOwner.TryDeliver(WebSocketSession session, in InboundMessage message)
    {
        if (_deliveryStopped)
        {
            // Exit has begun: the application takes nothing more; the message is counted, not delivered.
            message.Release(Pool);
            MessagesDroppedAtExit++;
            return true;
        }

        if (!TryEnqueueNotices())
        {
            return false; // a lost connection's notice goes first; the session holds the message meanwhile
        }

        var received = new ReceivedMessage(message, Pool);
        if (!ReceiveQueue.TryEnqueueUnannounced(received))
        {
            // The lease goes back unused; the session keeps the buffer and delivers it again later.
            received.RevokeLease();
            return false;
        }

        _deliveredUnannounced = true;

        MessagesReceived++;
        if (SidecarMetrics.MessagesReceived.Enabled)
        {
            SidecarMetrics.MessagesReceived.Add(1, SidecarMetrics.TypeTag(message.Type));
        }

        if (SidecarMetrics.BytesReceived.Enabled)
        {
            SidecarMetrics.BytesReceived.Add(message.Length, SidecarMetrics.TypeTag(message.Type));
        }

        return true;
    }

    void ISessionOwner.AnnounceDelivered()
    {
        if (_deliveredUnannounced)
        {
            _deliveredUnannounced = false;
            ReceiveQueue.Announce();
            ArmQueueTrimIfGrown();
        }
    }

    bool ISessionOwner.TryDeferViolation(WebSocketSession session) =>
        !_deliveryStopped && ReceiveQueue.TryEnqueue(ReceivedMessage.ViolationMarker);

    bool ISessionOwner.TryTakeOutbound(out OutboundMessage message)
    {
        if (!SendQueue.TryDequeue(out message))
        {
            ArmQueueTrimIfGrown(); // once per drain: the queue is empty
            return false;
        }

        // Counted as the loop takes it to write: one field read per counter when nobody listens.
        if (SidecarMetrics.MessagesSent.Enabled)
        {
            SidecarMetrics.MessagesSent.Add(1, SidecarMetrics.TypeTag(message.Type));
        }

        if (SidecarMetrics.BytesSent.Enabled)
        {
            SidecarMetrics.BytesSent.Add(message.Length, SidecarMetrics.TypeTag(message.Type));
        }

        return true;
    }
}
