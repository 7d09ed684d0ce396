namespace Gateway.Observability.Metrics;

/// <summary>
/// Tag values made once, so that recording boxes and allocates nothing: status codes as boxed integers, and HTTP methods
/// as the known method names (anything else a client sends is <c>_OTHER</c>, so a made-up method never adds a series).
/// </summary>
internal static class StatusTags
{
    private static readonly object[] Statuses = [.. Enumerable.Range(0, 600).Select(static status => (object)status)];

    private static readonly object Other = 0;

    /// <summary>The status as a tag value (anything outside 0..599 is 0).</summary>
    public static object Of(int status) => (uint)status < Statuses.Length ? Statuses[status] : Other;

    /// <summary>The method as a tag value: one of the standard methods, or <c>_OTHER</c>.</summary>
    public static string Method(string method) => method switch
    {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "_OTHER",
    };
}
