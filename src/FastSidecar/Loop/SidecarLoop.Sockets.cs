using System.Net.Sockets;
using FastSidecar.Loop;

namespace FastSidecar;

/// <summary>Socket readiness: the registration slot table and event dispatch. Loop thread only.</summary>
/// <remarks>
/// Each registration occupies a slot; the selector carries <c>(generation &lt;&lt; 32) | slot</c> in
/// <c>epoll_event.data.u64</c>, so dispatch is an array index with no allocation and no GCHandle. The generation
/// makes a stale event harmless: an event for a registration disposed earlier in the same batch (its slot possibly
/// reused already) no longer matches and is skipped.
/// </remarks>
public sealed partial class SidecarLoop
{
    private SocketRegistration?[] _registrations = new SocketRegistration?[16];
    private readonly Stack<int> _freeRegistrationSlots = new();
    private int _usedRegistrationSlots;
    private uint _registrationGeneration;

    /// <summary>Adds a non-blocking socket to the readiness set; callbacks go to <paramref name="handler"/> on the loop thread.</summary>
    /// <remarks>
    /// Ownership: the loop does not take the socket. It never closes it, except through the owner's
    /// <see cref="ILoopResource.Abort"/>; dispose the returned registration before closing the socket.
    /// </remarks>
    internal SocketRegistration Register(Socket socket, ISocketHandler handler, SocketInterest interest)
    {
        AssertOnLoopThread();
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(handler);
        if (_tearingDown)
        {
            ThrowStopped();
        }

        if (socket.Blocking)
        {
            throw new ArgumentException("A socket served by the loop must be non-blocking (Socket.Blocking = false).", nameof(socket));
        }

        int slot;
        if (!_freeRegistrationSlots.TryPop(out slot))
        {
            if (_usedRegistrationSlots == _registrations.Length)
            {
                Array.Resize(ref _registrations, _registrations.Length * 2);
            }

            slot = _usedRegistrationSlots++;
        }

        // Generation 0 is skipped so that no token equals a zeroed event.
        _registrationGeneration = _registrationGeneration == uint.MaxValue - 1 ? 1 : _registrationGeneration + 1;
        var registration = new SocketRegistration(this, socket, handler, slot, _registrationGeneration, interest);
        try
        {
            _selector.Add(socket, registration.Token, interest);
        }
        catch
        {
            _freeRegistrationSlots.Push(slot);
            throw;
        }

        _registrations[slot] = registration;
        return registration;
    }

    internal void ModifyRegistration(SocketRegistration registration, SocketInterest interest) =>
        _selector.Modify(registration.Socket, registration.Token, interest);

    internal void Unregister(SocketRegistration registration)
    {
        if (!ReferenceEquals(_registrations[registration.Slot], registration))
        {
            return;
        }

        _registrations[registration.Slot] = null;
        _freeRegistrationSlots.Push(registration.Slot);
        _selector.Remove(registration.Socket);
    }

    private int RemoveAllRegistrations()
    {
        int removed = 0;
        for (int i = 0; i < _usedRegistrationSlots; i++)
        {
            SocketRegistration? registration = _registrations[i];
            if (registration is null)
            {
                continue;
            }

            removed++;
            registration.MarkRemoved();
            _registrations[i] = null;
            try
            {
                _selector.Remove(registration.Socket);
            }
            catch (Exception e)
            {
                ReportFault(e);
            }
        }

        _freeRegistrationSlots.Clear();
        _usedRegistrationSlots = 0;
        return removed;
    }

    private int DispatchReadiness(int count)
    {
        for (int i = 0; i < count; i++)
        {
            ReadyEvent ready = _events[i];
            int slot = (int)(uint)ready.Token;
            uint generation = (uint)(ready.Token >> 32);
            Readiness readiness = ready.Readiness;

            // Readable first, so data and end of stream that arrived before a hang-up are consumed before OnError.
            if ((readiness & Readiness.Readable) != 0 && Live(slot, generation) is { } forRead)
            {
                DispatchSafely(forRead.Handler, Readiness.Readable);
            }

            if ((readiness & Readiness.Writable) != 0 && Live(slot, generation) is { } forWrite)
            {
                DispatchSafely(forWrite.Handler, Readiness.Writable);
            }

            if ((readiness & Readiness.Error) != 0 && Live(slot, generation) is { } forError)
            {
                DispatchSafely(forError.Handler, Readiness.Error);
            }

            if (Volatile.Read(ref _state) != StateRunning)
            {
                break; // stopping: the rest of the batch is dropped with the selector
            }
        }

        return count;
    }

    private SocketRegistration? Live(int slot, uint generation)
    {
        SocketRegistration? registration = (uint)slot < (uint)_usedRegistrationSlots ? _registrations[slot] : null;
        return registration is not null && registration.Generation == generation ? registration : null;
    }

    private void DispatchSafely(ISocketHandler handler, Readiness which)
    {
        try
        {
            switch (which)
            {
                case Readiness.Readable:
                    handler.OnReadable();
                    break;
                case Readiness.Writable:
                    handler.OnWritable();
                    break;
                default:
                    handler.OnError();
                    break;
            }
        }
        catch (Exception e)
        {
            ReportFault(e);
        }
    }
}
