using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using FastSidecar.Buffers;
using FastSidecar.Protocol.Deflate;

namespace FastSidecar.Protocol;

/// <summary>The checks a frame header passes before a byte of its payload is read or a buffer is rented (RFC 6455 §5).</summary>
internal sealed partial class FrameReader
{
    /// <summary>Every check that can be made from the header alone, in the order a careful reader would fail.</summary>
    private void Validate(in FrameHeader header)
    {
        Opcode opcode = header.Opcode;
        if (header.Rsv != 0)
        {
            // Only permessage-deflate gives a reserved bit a meaning: RSV1 on the first frame of a data message
            // (RFC 7692 §6.1); anywhere else, and RSV2/RSV3 always, it fails the connection (RFC 6455 §5.2).
            if (_inflater is null)
            {
                throw ProtocolError("A reserved bit was set without a negotiated extension.");
            }

            if (header.Rsv != Rsv1 || opcode is not (Opcode.Text or Opcode.Binary))
            {
                throw ProtocolError(header.Rsv != Rsv1
                    ? "RSV2 or RSV3 was set; permessage-deflate gives them no meaning."
                    : "RSV1 was set on a frame that does not start a data message.");
            }
        }

        bool control = opcode is Opcode.Close or Opcode.Ping or Opcode.Pong;
        if (!control && opcode is not (Opcode.Continuation or Opcode.Text or Opcode.Binary))
        {
            throw ProtocolError($"Reserved opcode 0x{(byte)opcode:X}.");
        }

        if (header.Masked != (_role == WebSocketRole.Server))
        {
            throw ProtocolError(_role == WebSocketRole.Client
                ? "The server sent a masked frame."
                : "The client sent an unmasked frame.");
        }

        if (control)
        {
            if (!header.Fin)
            {
                throw ProtocolError("A control frame was fragmented.");
            }

            if (header.PayloadLength > MaxControlPayload)
            {
                throw ProtocolError("A control frame's payload exceeded 125 bytes.");
            }

            if (opcode == Opcode.Close && header.PayloadLength == 1)
            {
                throw ProtocolError("A close frame had a 1-byte payload.");
            }

            return;
        }

        if (opcode == Opcode.Continuation)
        {
            if (!_inMessage)
            {
                throw ProtocolError("A continuation frame arrived with no message in progress.");
            }

            if (_messageCompressed
                ? header.PayloadLength > MaxCompressedLength - _compressedLength
                : header.PayloadLength > _maxMessageSize - _messageLength)
            {
                throw TooBig();
            }

            return;
        }

        if (_inMessage)
        {
            throw ProtocolError("A new data frame arrived inside a fragmented message.");
        }

        if (header.PayloadLength > (header.Rsv == Rsv1 ? MaxCompressedLength : _maxMessageSize))
        {
            throw TooBig();
        }
    }

    private static WebSocketProtocolException ProtocolError(string message) =>
        new(WebSocketCloseCode.ProtocolError, message);

    private static WebSocketProtocolException InvalidPayload(string message) =>
        new(WebSocketCloseCode.InvalidPayloadData, message);

    private WebSocketProtocolException TooBig() =>
        new(WebSocketCloseCode.MessageTooBig, $"A message exceeded the limit of {_maxMessageSize} bytes.");
}
