namespace Gateway.Compression;

/// <summary>
/// How many response encoders are alive at once in this gateway (every route, every snapshot: it lives in the
/// <see cref="State.LiveState"/>, so a reload does not reset it). Each holds a window and match tables of native
/// memory for as long as its response is being sent, which a slow client can make long; past
/// <c>compression.max_concurrent</c> a response goes out as it is instead.
/// </summary>
internal sealed class EncoderBudget
{
    private int _live;

    /// <summary>Encoders alive now.</summary>
    public int Live => Volatile.Read(ref _live);

    /// <summary>Takes a place for one more encoder, unless <paramref name="max"/> are alive already.</summary>
    public bool TryTake(int max)
    {
        if (Interlocked.Increment(ref _live) <= max)
        {
            return true;
        }

        Interlocked.Decrement(ref _live);
        return false;
    }

    /// <summary>Gives back a place <see cref="TryTake"/> gave.</summary>
    public void Return() => Interlocked.Decrement(ref _live);
}
