namespace Gateway.Configuration;

/// <summary>Holds the current snapshot that new requests start on (a reload will swap it atomically).</summary>
internal sealed class ConfigStore(RuntimeConfig initial)
{
    public RuntimeConfig Current { get; } = initial;
}
