using FastSidecar.Buffers;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Buffers;

/// <summary>
/// A received message's copies stay released across the recycling of its block. Run alone: the test rents block
/// objects from the process-wide pool until its own comes back, which a test running beside it could take first.
/// </summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class ReceiveBlockRecyclingTests
{
    [Fact]
    public void A_stale_copy_from_an_earlier_rental_stays_released_when_the_block_and_its_slot_are_issued_again()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var writer = new ReceiveBlockWriter(pool);
        var first = new List<(int Slot, int Generation)>();
        ReceiveBlock? block = null;
        for (int i = 0; i < 3; i++)
        {
            writer.Reserve(64, 3 * 64, out _);
            block = writer.Commit(64, out int issuedSlot, out int issuedGeneration);
            first.Add((issuedSlot, issuedGeneration));
        }

        writer.EndBurst();
        foreach ((int slot, int generation) in first)
        {
            Assert.True(block!.Release(slot, generation));
        }

        Assert.Equal(0, pool.Outstanding); // the block object went back to its pool

        // Rent until the same block object comes back: the pool may hand out the others it keeps first.
        var others = new List<ReceiveBlock>();
        ReceiveBlock again = ReceiveBlock.Rent(pool, 64);
        while (!ReferenceEquals(again, block) && others.Count < 10_000)
        {
            others.Add(again);
            again = ReceiveBlock.Rent(pool, 64);
        }

        Assert.Same(block, again);
        int fresh = again.GenerationOf(0); // slot 0 again, one issued message
        Assert.True(fresh > first[0].Generation);

        (int staleSlot, int staleGeneration) = first[0];
        Assert.Null(again.ArrayFor(staleSlot, staleGeneration));
        Assert.False(again.Release(staleSlot, staleGeneration), "a copy from an earlier rental must not release the new message");
        Assert.NotNull(again.ArrayFor(0, fresh));
        again.Seal(1);
        Assert.Equal(1 + others.Count, pool.Outstanding);
        Assert.True(again.Release(0, fresh));
        Assert.False(again.Release(0, fresh));
        foreach (ReceiveBlock other in others)
        {
            other.Seal(0);
        }

        Assert.Equal(0, pool.Outstanding);
    }
}
