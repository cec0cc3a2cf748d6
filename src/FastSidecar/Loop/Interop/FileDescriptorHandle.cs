using Microsoft.Win32.SafeHandles;

namespace FastSidecar.Loop.Interop;

/// <summary>
/// Owns one Linux file descriptor (the epoll instance or the eventfd) and closes it exactly once.
/// </summary>
/// <remarks>
/// P/Invokes take this handle rather than the raw number, so the marshaller's add-ref/release keeps the descriptor
/// open for the duration of each call: a producer thread writing the eventfd while the loop closes it either
/// completes its write on the still-open descriptor or fails with <see cref="ObjectDisposedException"/>; it can never
/// write into a descriptor number the process has reused for something else.
/// </remarks>
internal sealed class FileDescriptorHandle : SafeHandleMinusOneIsInvalid
{
    /// <summary>Used by the source-generated marshaller for descriptors returned by a P/Invoke.</summary>
    public FileDescriptorHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle() => LinuxEpoll.Close((int)handle) == 0;
}
