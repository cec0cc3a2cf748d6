using System.Buffers;
using Microsoft.Extensions.ObjectPool;

namespace FastSidecar.Buffers;

/// <summary>
/// Adapts <see cref="SidecarBufferPool"/> to the <see cref="MemoryPool{T}"/> shape that <c>Pipe</c> asks for.
/// </summary>
/// <remarks>
/// <see cref="MemoryPool{T}.Shared"/> allocates a fresh <see cref="IMemoryOwner{T}"/> per rent and its arrays are not
/// counted; this one recycles its owners through an <see cref="ObjectPool{T}"/> and rents arrays through the counting
/// pool. Thread-safety: <see cref="Rent"/> and owner disposal may happen on any thread (the object pool is thread-safe).
/// </remarks>
internal sealed class PooledMemoryPool : MemoryPool<byte>
{
    // What Pipe gets when it asks for "any size" (-1): one page, which is also Pipe's own default segment size.
    private const int DefaultBufferSize = 4096;

    private readonly SidecarBufferPool _arrays;
    private readonly ObjectPool<PooledMemoryOwner> _owners;

    public PooledMemoryPool(SidecarBufferPool arrays)
    {
        _arrays = arrays;
        // 1024 retained owners covers the segments of many busy pipes; beyond that, owners are simply collected.
        _owners = new DefaultObjectPool<PooledMemoryOwner>(new OwnerPolicy(this), maximumRetained: 1024);
    }

    public override int MaxBufferSize => Array.MaxLength;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, Array.MaxLength);
        int size = minBufferSize <= 0 ? DefaultBufferSize : minBufferSize;
        PooledMemoryOwner owner = _owners.Get();
        owner.Attach(_arrays.Rent(size));
        return owner;
    }

    /// <summary>Called by an owner when it is disposed: the array goes back to the counting pool, the owner to the object pool.</summary>
    internal void Release(PooledMemoryOwner owner, byte[] array)
    {
        _arrays.Return(array);
        _owners.Return(owner);
    }

    protected override void Dispose(bool disposing)
    {
        // Nothing to release: the arrays belong to the counting pool and the owners are plain objects.
    }

    private sealed class OwnerPolicy(PooledMemoryPool pool) : IPooledObjectPolicy<PooledMemoryOwner>
    {
        public PooledMemoryOwner Create() => new(pool);

        public bool Return(PooledMemoryOwner obj) => true;
    }
}

/// <summary>A recyclable <see cref="IMemoryOwner{T}"/> over one array rented from <see cref="SidecarBufferPool"/>.</summary>
/// <remarks>Dispose is idempotent for one lease: the array is detached before it is released, so a second Dispose finds nothing.</remarks>
internal sealed class PooledMemoryOwner : IMemoryOwner<byte>
{
    private readonly PooledMemoryPool _pool;
    private byte[]? _array;

    public PooledMemoryOwner(PooledMemoryPool pool) => _pool = pool;

    public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(PooledMemoryOwner));

    internal void Attach(byte[] array) => _array = array;

    public void Dispose()
    {
        byte[]? array = Interlocked.Exchange(ref _array, null);
        if (array is not null)
        {
            _pool.Release(this, array);
        }
    }
}
