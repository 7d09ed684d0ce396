namespace Gateway.Forwarding;

/// <summary>How one upstream attempt went wrong, if it did. Only what a backend did may count against it.</summary>
internal enum UpstreamFailure
{
    None,

    /// <summary>The backend answered 502, 503 or 504 and the answer was held back so that the request can go again.</summary>
    HeldBack,

    /// <summary>No connection could be made: nothing reached the backend.</summary>
    ConnectFailed,

    /// <summary>A kept-alive connection turned out closed before any answer came (the request goes once more on a new one).</summary>
    StaleConnection,

    /// <summary>The connection broke after the request was sent, or while it was.</summary>
    Reset,

    /// <summary>The backend did not answer within the route's timeout.</summary>
    Timeout,

    /// <summary>The backend's answer was not valid HTTP, or ended before its head did.</summary>
    InvalidResponse,

    /// <summary>The backend failed in the middle of its body: the client's response was cut short.</summary>
    ResponseBodyFailed,

    /// <summary>The client went away.</summary>
    ClientGone,

    /// <summary>The client's body broke off, or did not match its framing.</summary>
    ClientBodyFailed,

    /// <summary>The client's body did not arrive within the route's timeout.</summary>
    ClientBodyTimeout,

    /// <summary>The client's body grew past <c>max_request_size</c>.</summary>
    ClientBodyTooLarge,

    /// <summary>The gateway would not send the request as it is (nothing was sent).</summary>
    Unsendable,
}

internal static class UpstreamFailures
{
    /// <summary>The backend is to blame: the failure counts against its breaker and passive health.</summary>
    public static bool CountsAgainstBackend(this UpstreamFailure failure) => failure is UpstreamFailure.HeldBack or UpstreamFailure.ConnectFailed
        or UpstreamFailure.Reset or UpstreamFailure.Timeout or UpstreamFailure.InvalidResponse or UpstreamFailure.ResponseBodyFailed;

    /// <summary>The client is to blame (or gone): says nothing about the backend.</summary>
    public static bool IsClients(this UpstreamFailure failure) => failure is UpstreamFailure.ClientGone or UpstreamFailure.ClientBodyFailed
        or UpstreamFailure.ClientBodyTimeout or UpstreamFailure.ClientBodyTooLarge or UpstreamFailure.Unsendable;

    /// <summary>The metric label of a failure.</summary>
    public static string Label(this UpstreamFailure failure) => failure switch
    {
        UpstreamFailure.HeldBack => "status_5xx",
        UpstreamFailure.ConnectFailed => "connect",
        UpstreamFailure.StaleConnection => "stale_connection",
        UpstreamFailure.Reset => "reset",
        UpstreamFailure.Timeout => "timeout",
        UpstreamFailure.InvalidResponse => "invalid_response",
        UpstreamFailure.ResponseBodyFailed => "response_body",
        _ => "client",
    };
}

/// <summary>What a sender reports about one attempt.</summary>
internal readonly record struct SendResult(UpstreamFailure Failure, Exception? Error = null, int HeldBackStatus = 0)
{
    public static readonly SendResult Ok = new(UpstreamFailure.None);
}
