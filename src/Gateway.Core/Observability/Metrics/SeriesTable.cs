namespace Gateway.Observability.Metrics;

/// <summary>
/// The series of one instrument, found by their tags without allocating: an open-addressing table that readers probe
/// with no lock (entries are published whole, the table is replaced whole when it grows) and that writers extend under
/// a lock. Tags match whatever their order. Past <see cref="MaxSeries"/> distinct tag sets every new one goes into a
/// single overflow series, so that no input can grow the output without bound.
/// </summary>
internal sealed class SeriesTable<TSeries>(Func<KeyValuePair<string, object?>[], TSeries> create)
    where TSeries : class
{
    /// <summary>The most series one instrument keeps; the gateway's own instruments stay far below it.</summary>
    public const int MaxSeries = 2000;

    private static readonly KeyValuePair<string, object?>[] OverflowTags = [new("otel_metric_overflow", "true")];

    private readonly Lock _gate = new();
    private volatile Entry?[] _table = new Entry?[16];
    private int _count;
    private TSeries? _overflow;

    public TSeries Get(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = Hash(tags);
        var table = _table;
        var mask = table.Length - 1;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            var entry = Volatile.Read(ref table[i]);
            if (entry is null)
            {
                break;
            }

            if (entry.Hash == hash && Matches(entry.Tags, tags))
            {
                return entry.Series;
            }
        }

        return Add(tags, hash);
    }

    /// <summary>Every series with its tags (for a scrape).</summary>
    public List<(KeyValuePair<string, object?>[] Tags, TSeries Series)> Snapshot()
    {
        var list = new List<(KeyValuePair<string, object?>[], TSeries)>();
        foreach (var entry in _table)
        {
            if (entry is not null)
            {
                list.Add((entry.Tags, entry.Series));
            }
        }

        if (Volatile.Read(ref _overflow) is { } overflow)
        {
            list.Add((OverflowTags, overflow));
        }

        return list;
    }

    private TSeries Add(ReadOnlySpan<KeyValuePair<string, object?>> tags, int hash)
    {
        // Full: every new tag set goes to the overflow series, without the writer lock (the table no longer changes).
        if (Volatile.Read(ref _overflow) is { } full)
        {
            return full;
        }

        lock (_gate)
        {
            var table = _table;
            var mask = table.Length - 1;
            var i = hash & mask;
            for (; table[i] is { } entry; i = (i + 1) & mask)
            {
                if (entry.Hash == hash && Matches(entry.Tags, tags))
                {
                    return entry.Series;
                }
            }

            if (_count >= MaxSeries)
            {
                return _overflow ??= create(OverflowTags);
            }

            var added = new Entry(hash, tags.ToArray(), create(tags.ToArray()));
            if ((_count + 1) * 2 > table.Length)
            {
                var grown = new Entry?[table.Length * 2];
                foreach (var old in table)
                {
                    if (old is not null)
                    {
                        Place(grown, old);
                    }
                }

                Place(grown, added);
                _table = grown;
            }
            else
            {
                Volatile.Write(ref table[i], added);
            }

            _count++;
            return added.Series;
        }
    }

    private static void Place(Entry?[] table, Entry entry)
    {
        var mask = table.Length - 1;
        var i = entry.Hash & mask;
        while (table[i] is not null)
        {
            i = (i + 1) & mask;
        }

        table[i] = entry;
    }

    private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // A sum, so that the same tags in another order land on the same entry.
        var hash = tags.Length;
        foreach (var (key, value) in tags)
        {
            hash += HashCode.Combine(key, value);
        }

        return hash & int.MaxValue;
    }

    private static bool Matches(KeyValuePair<string, object?>[] stored, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (stored.Length != tags.Length)
        {
            return false;
        }

        for (var i = 0; i < tags.Length; i++)
        {
            // Callers pass their tags in one order: the same position is checked first.
            if (!Same(stored[i], tags[i]) && !Contains(stored, tags[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Contains(KeyValuePair<string, object?>[] stored, KeyValuePair<string, object?> tag)
    {
        foreach (var candidate in stored)
        {
            if (Same(candidate, tag))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Same(KeyValuePair<string, object?> a, KeyValuePair<string, object?> b) =>
        string.Equals(a.Key, b.Key, StringComparison.Ordinal) && (ReferenceEquals(a.Value, b.Value) || Equals(a.Value, b.Value));

    private sealed class Entry(int hash, KeyValuePair<string, object?>[] tags, TSeries series)
    {
        public int Hash { get; } = hash;

        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public TSeries Series { get; } = series;
    }
}
