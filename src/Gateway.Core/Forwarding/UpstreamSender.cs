using Gateway.Pipeline;

namespace Gateway.Forwarding;

/// <summary>
/// One way to reach backends: the gateway's own HTTP/1.1 client, or HttpClient through YARP. A route's sender is
/// chosen when the config is compiled. A sender only sends: the attempt's backend, deadline and whether a 5xx may be
/// held back come from above (<see cref="UpstreamCall"/>), and so do retries, breakers and passive health. It writes
/// the backend's head into the exchange's response, calls <see cref="UpstreamAttempt.HeadReceived"/> before that head
/// goes out, then streams the body.
/// </summary>
internal abstract class UpstreamSender
{
    /// <summary>Whether this sender can carry the request as it is (the own client frames only what it can frame exactly).</summary>
    public abstract bool CanSend(Exchange exchange);

    public abstract ValueTask<SendResult> SendAsync(Exchange exchange, UpstreamAttempt attempt);
}
