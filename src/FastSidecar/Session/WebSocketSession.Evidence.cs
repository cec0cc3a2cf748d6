using FastSidecar.Protocol;

namespace FastSidecar.Session;

/// <summary>
/// Evidence that the peer was alive after our messages were written, for the account of a lost connection (a message
/// written after the last evidence is "in doubt"), and writing ahead of the owner's queue (a reconnect's subscriptions).
/// </summary>
internal sealed partial class WebSocketSession
{
    // _messagesSent when the socket was last read: what any frame in that read's bytes arrived after.
    private long _sentAtLastRead;

    // Messages written to the kernel before a socket read that brought a frame from the peer.
    private long _messagesConfirmed;

    /// <summary>Loop thread: messages handed to the kernel before the last frame received from the peer was read.</summary>
    public long MessagesConfirmed => _messagesConfirmed;

    /// <summary>Before each socket read: what has reached the kernel so far.</summary>
    private void NoteSocketRead() => _sentAtLastRead = _messagesSent;

    /// <summary>A frame arrived: the peer was alive after everything written before the read that brought it.</summary>
    /// <remarks>
    /// A frame parsed after a pause (a full receive queue) came from a read made before the pause, and no read is made
    /// while paused, so <see cref="_sentAtLastRead"/> is still that read's snapshot.
    /// </remarks>
    private void NoteFrameFromPeer() => _messagesConfirmed = _sentAtLastRead;

    /// <summary>
    /// Loop thread, while open: writes a data frame into the output ahead of anything taken from the owner's queue
    /// (the caller runs before the first drain). Not counted with the queue's messages.
    /// </summary>
    public void WriteAheadOfQueue(ReadOnlySpan<byte> payload, MessageType type)
    {
        _loop.AssertOnLoopThread();
        if (_phase != SessionPhase.Open || _closeSent || _transport is null)
        {
            throw new InvalidOperationException("The connection is no longer open.");
        }

        WriteDataFrame(type == MessageType.Text ? Opcode.Text : Opcode.Binary, payload);
    }

    /// <summary>Loop thread: fails the session for a reason outside the protocol (the owner's hook threw), closing with 1011.</summary>
    public void FailFromOwner(SidecarWebSocketException fault) => Fail(fault, WebSocketCloseCode.InternalServerError);
}
