namespace FastSidecar.Protocol.Handshake;

/// <summary>
/// What a permessage-deflate negotiation settled (RFC 7692 §7.1): the window each side compresses with and whether it
/// keeps its LZ77 context from one message to the next.
/// </summary>
/// <param name="ClientMaxWindowBits">The window our compressor may use, 8–15 (the client's side of §7.1.2.2).</param>
/// <param name="ServerMaxWindowBits">The largest window the server compresses with, 8–15 (§7.1.2.1); our inflater's window.</param>
/// <param name="ClientContextTakeover">False when we must compress each message with a fresh context (§7.1.1.2).</param>
/// <param name="ServerContextTakeover">False when the server compresses each message with a fresh context (§7.1.1.1).</param>
internal readonly record struct DeflateParameters(
    int ClientMaxWindowBits, int ServerMaxWindowBits, bool ClientContextTakeover, bool ServerContextTakeover);
