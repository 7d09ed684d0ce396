namespace Gateway.Configuration;

/// <summary>Holds the current snapshot; a swap is one atomic reference write.</summary>
internal sealed class ConfigStore(RuntimeConfig initial)
{
    private RuntimeConfig _current = initial;

    public RuntimeConfig Current => Volatile.Read(ref _current);

    public void Swap(RuntimeConfig next) => Volatile.Write(ref _current, next);
}
