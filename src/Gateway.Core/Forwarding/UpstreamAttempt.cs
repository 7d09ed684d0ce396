using Gateway.Pipeline;

namespace Gateway.Forwarding;

/// <summary>
/// One try at one backend: what the sender may spend on it and how its outcome is recorded. The outcome of an answer
/// is recorded when its head arrives, before the client sees any of it, so that whatever a client has seen has been
/// counted by the breaker and passive health (a fourth request after three 500s meets the open breaker).
/// </summary>
internal sealed class UpstreamAttempt(Exchange exchange, UpstreamRoute route, Backend backend, bool probe, bool mayHoldBack, TimeSpan timeout, bool freshConnection)
{
    private readonly long _started = exchange.Time.GetTimestamp();

    public Exchange Exchange { get; } = exchange;

    public UpstreamRoute Route { get; } = route;

    public Backend Backend { get; } = backend;

    /// <summary>How long the backend may stay silent (what is left of the route's timeout).</summary>
    public TimeSpan Timeout { get; } = timeout;

    /// <summary>Open a new connection rather than reuse one (the reused one just turned out closed).</summary>
    public bool FreshConnection { get; } = freshConnection;

    /// <summary>The outcome has been recorded against the backend.</summary>
    public bool Recorded { get; private set; }

    /// <summary>Whether an answer with this status is held back so the request can go to another attempt.</summary>
    public bool HoldsBack(int status) => mayHoldBack && status is 502 or 503 or 504;

    /// <summary>
    /// The backend's final head is in the exchange's response and about to go out: its outcome is recorded, and the
    /// response side of the stages adds what the gateway owns.
    /// </summary>
    public void HeadReceived(int status)
    {
        Record(status < 500 || status == 501, status);
        StageRunner.PrepareResponse(Exchange);
    }

    /// <summary>Records the attempt's outcome once (later failures of a body already under way are recorded by <see cref="RecordLateFailure"/>).</summary>
    public void Record(bool success, int status)
    {
        if (Recorded)
        {
            return;
        }

        Recorded = true;
        Backend.Breaker?.Record(success, probe);
        Backend.Health.RecordPassive(success);
        Route.Metrics.Attempt(Route.RouteId, Backend.Name, status, Exchange.Time.GetElapsedTime(_started).TotalSeconds);
    }

    /// <summary>The backend failed after its head was recorded as an answer: one more failure counts against it.</summary>
    public void RecordLateFailure()
    {
        Backend.Breaker?.Record(false, probe: false);
        Backend.Health.RecordPassive(false);
    }

    /// <summary>The attempt says nothing about the backend (the client's fault, or a stale connection): its probe slot goes back.</summary>
    public void Abandon()
    {
        if (!Recorded)
        {
            Recorded = true;
            Backend.Breaker?.Abandon(probe);
        }
    }
}
