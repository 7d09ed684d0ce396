namespace Gateway.Hosting;

/// <summary>Whether the gateway is ready to take traffic (for <c>/readyz</c>).</summary>
internal sealed class Lifecycle
{
    private volatile bool _ready;
    private volatile bool _draining;

    public bool IsReady => _ready && !_draining;

    public bool IsDraining => _draining;

    public void MarkReady() => _ready = true;

    public void BeginDrain() => _draining = true;
}
