namespace Gateway.Authentication;

internal enum AuthOutcome
{
    Success,

    /// <summary>No credential of this method was presented.</summary>
    Missing,

    /// <summary>A credential was presented and refused.</summary>
    Invalid,

    /// <summary>The credential could not be checked now (keys or key store unreachable).</summary>
    Unavailable,
}

/// <summary>What one authentication method concluded. <c>Reason</c> is a short metric label; <c>Detail</c> is safe to show.</summary>
internal readonly record struct AuthResult(AuthOutcome Outcome, Identity? Identity, string Reason, string Detail)
{
    public static AuthResult Missing(string method) => new(AuthOutcome.Missing, null, "missing", $"No {method} credential was presented.");

    public static AuthResult Invalid(string reason, string detail) => new(AuthOutcome.Invalid, null, reason, detail);

    public static AuthResult Unavailable(string reason, string detail) => new(AuthOutcome.Unavailable, null, reason, detail);

    public static AuthResult Success(Identity identity) => new(AuthOutcome.Success, identity, "ok", "");
}
