namespace Gateway.Configuration;

/// <summary>
/// The snapshot new requests start on. A reload swaps in a fully built one with one atomic write; requests that
/// started before keep the snapshot they took.
/// </summary>
internal sealed class ConfigStore(RuntimeConfig initial)
{
    private RuntimeConfig _current = initial;

    public RuntimeConfig Current => Volatile.Read(ref _current);

    public void Swap(RuntimeConfig next) => Volatile.Write(ref _current, next);
}
