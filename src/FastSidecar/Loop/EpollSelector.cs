using System.ComponentModel;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using FastSidecar.Loop.Interop;

namespace FastSidecar.Loop;

/// <summary>Level-triggered epoll with an eventfd for wake-ups (Linux).</summary>
/// <remarks>
/// Ownership: the epoll and eventfd descriptors are created here and closed by <see cref="Dispose"/> (or by their
/// SafeHandles' finalizers if the loop is leaked). Socket descriptors belong to their sockets; each epoll_ctl holds an
/// add-ref on the socket's SafeHandle for the duration of the call only. A long-lived add-ref would make
/// <see cref="Socket.Dispose()"/> wait for the registration to go away, which deadlocks when both happen on the
/// loop thread in the wrong order. If a socket is closed while still registered, the kernel removes it from the
/// epoll set with its last reference, and <see cref="Remove"/> finds the SafeHandle closed and skips EPOLL_CTL_DEL,
/// so a reused descriptor number is never deleted by mistake.
/// </remarks>
internal sealed unsafe class EpollSelector : ReadinessSelector
{
    private const ulong WakeToken = ulong.MaxValue;

    private readonly FileDescriptorHandle _epoll;
    private readonly FileDescriptorHandle _eventFd;
    private readonly byte[] _nativeEvents; // pinned (pinned object heap): epoll_wait writes straight into it
    private readonly int _maxEvents;
    private readonly int _eventSize = LinuxEpoll.EventSize;
    private readonly int _dataOffset = LinuxEpoll.EventDataOffset;

    public EpollSelector(int maxEvents)
    {
        _maxEvents = maxEvents;
        _nativeEvents = GC.AllocateUninitializedArray<byte>(maxEvents * LinuxEpoll.EventSize, pinned: true);
        _epoll = LinuxEpoll.EpollCreate1(LinuxEpoll.EpollCloexec);
        if (_epoll.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epoll.Dispose();
            throw new Win32Exception(errno, "epoll_create1 failed.");
        }

        _eventFd = LinuxEpoll.EventFd(0, LinuxEpoll.EfdNonblock | LinuxEpoll.EfdCloexec);
        if (_eventFd.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            _eventFd.Dispose();
            _epoll.Dispose();
            throw new Win32Exception(errno, "eventfd failed.");
        }

        // No add-ref needed: nothing else can close the eventfd while the constructor runs.
        int ctlErrno = Control(LinuxEpoll.CtlAdd, (int)_eventFd.DangerousGetHandle(), LinuxEpoll.EpollIn, WakeToken);
        if (ctlErrno != 0)
        {
            _eventFd.Dispose();
            _epoll.Dispose();
            throw new Win32Exception(ctlErrno, "epoll_ctl(ADD eventfd) failed.");
        }
    }

    public override void Add(Socket socket, ulong token, SocketInterest interest) =>
        ControlSocket(socket, LinuxEpoll.CtlAdd, interest, token, "epoll_ctl(ADD)");

    public override void Modify(Socket socket, ulong token, SocketInterest interest) =>
        ControlSocket(socket, LinuxEpoll.CtlMod, interest, token, "epoll_ctl(MOD)");

    public override void Remove(Socket socket)
    {
        SafeSocketHandle handle = socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return; // closed first: the kernel already dropped it from the set
        }

        try
        {
            int errno = Control(LinuxEpoll.CtlDel, (int)handle.DangerousGetHandle(), 0, 0);
            // ENOENT/EBADF: already gone; nothing to undo. Anything else is a bug worth surfacing.
            if (errno != 0 && errno != LinuxEpoll.Enoent && errno != LinuxEpoll.Ebadf)
            {
                throw new Win32Exception(errno, "epoll_ctl(DEL) failed.");
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    public override int Wait(int timeoutMilliseconds, ReadyEvent[] events)
    {
        int capacity = Math.Min(_maxEvents, events.Length);
        int count;
        fixed (byte* buffer = _nativeEvents)
        {
            while (true)
            {
                count = LinuxEpoll.EpollWait(_epoll, buffer, capacity, timeoutMilliseconds);
                if (count >= 0)
                {
                    break;
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno != LinuxEpoll.Eintr)
                {
                    throw new Win32Exception(errno, "epoll_wait failed.");
                }
                // EINTR (a signal, e.g. from a debugger or the GC's thread suspension): retry. A retried timed
                // wait may last up to one extra timeout; timers re-check the clock, so that is only a late wake.
            }

            int written = 0;
            for (int i = 0; i < count; i++)
            {
                byte* entry = buffer + (i * _eventSize);
                uint flags = *(uint*)entry;
                ulong data = *(ulong*)(entry + _dataOffset);
                if (data == WakeToken)
                {
                    DrainEventFd();
                    continue;
                }

                Readiness readiness = Readiness.None;
                if ((flags & LinuxEpoll.EpollIn) != 0)
                {
                    readiness |= Readiness.Readable;
                }

                if ((flags & LinuxEpoll.EpollOut) != 0)
                {
                    readiness |= Readiness.Writable;
                }

                if ((flags & (LinuxEpoll.EpollErr | LinuxEpoll.EpollHup)) != 0)
                {
                    readiness |= Readiness.Error;
                }

                events[written++] = new ReadyEvent(data, readiness);
            }

            return written;
        }
    }

    public override void Signal()
    {
        ulong one = 1;
        try
        {
            // EAGAIN (the counter is saturated) still leaves the eventfd readable, which is all a wake needs.
            // EINTR cannot leave the wake undone silently, so retry it.
            while (LinuxEpoll.Write(_eventFd, &one, sizeof(ulong)) < 0 && Marshal.GetLastPInvokeError() == LinuxEpoll.Eintr)
            {
            }
        }
        catch (ObjectDisposedException)
        {
            // The loop closed the eventfd: it is stopping or stopped, nobody is left to wake.
        }
    }

    public override void Dispose()
    {
        _eventFd.Dispose();
        _epoll.Dispose();
    }

    private void DrainEventFd()
    {
        ulong value;
        // Non-blocking: one read resets the counter to zero; EAGAIN means a concurrent read already did.
        while (LinuxEpoll.Read(_eventFd, &value, sizeof(ulong)) < 0 && Marshal.GetLastPInvokeError() == LinuxEpoll.Eintr)
        {
        }
    }

    private void ControlSocket(Socket socket, int op, SocketInterest interest, ulong token, string what)
    {
        SafeSocketHandle handle = socket.SafeHandle;
        bool added = false;
        handle.DangerousAddRef(ref added); // throws ObjectDisposedException for a closed socket: the caller's bug
        try
        {
            int errno = Control(op, (int)handle.DangerousGetHandle(), ToEpoll(interest), token);
            if (errno != 0)
            {
                throw new Win32Exception(errno, what + " failed.");
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>Returns 0 or errno.</summary>
    private int Control(int op, int fd, uint events, ulong data)
    {
        byte* ev = stackalloc byte[16];
        LinuxEpoll.WriteEvent(ev, events, data);
        while (LinuxEpoll.EpollCtl(_epoll, op, fd, ev) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != LinuxEpoll.Eintr)
            {
                return errno;
            }
        }

        return 0;
    }

    private static uint ToEpoll(SocketInterest interest) =>
        ((interest & SocketInterest.Read) != 0 ? LinuxEpoll.EpollIn : 0) |
        ((interest & SocketInterest.Write) != 0 ? LinuxEpoll.EpollOut : 0);
}
