namespace Gateway.Pipeline;

/// <summary>
/// How much of a request body the gateway reads and drops after the response (the backend answered without taking all
/// of it) to keep the client's connection, on either codec. Past either bound the connection closes instead.
/// </summary>
internal static class BodyDrain
{
    /// <summary>Most bytes read and dropped.</summary>
    public const long MaxBytes = 1024 * 1024;

    /// <summary>Longest time spent on it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
}
