using Gateway.Authentication;
using Gateway.Configuration;

namespace Gateway.Tests.Authentication;

public sealed class ApiKeyAuthenticatorTests
{
    private static readonly ApiKeyAuthenticator Keys = new(new ApiKeyConfig
    {
        Keys = new Dictionary<string, ApiKeyEntry>
        {
            ["sk_test_123456789"] = new() { Name = "dev" },
            ["sk_prod_abcdefghi"] = new() { Name = "prod", Roles = ["admin"], Tier = "pro" },
        },
    }, store: null);

    [Fact]
    public async Task Exact_keys_are_accepted_with_their_metadata()
    {
        var result = await Keys.AuthenticateAsync("sk_prod_abcdefghi", offline: false);
        Assert.Equal(AuthOutcome.Success, result.Outcome);
        Assert.Equal("prod", result.Identity!.Subject);
        Assert.Equal(["admin"], result.Identity.Roles);
        Assert.Equal("pro", result.Identity.ApiKey!.Tier);
    }

    [Theory]
    [InlineData("sk_test_12345678")]
    [InlineData("sk_test_1234567890")]
    [InlineData("k_test_123456789")]
    [InlineData("xsk_test_123456789")]
    [InlineData("SK_TEST_123456789")]
    [InlineData("sk_test_123456789 ")]
    [InlineData(" sk_test_123456789")]
    [InlineData("sk_test_1234 56789")]
    [InlineData("sk_test_123456789\t")]
    [InlineData("")]
    public async Task Variants_of_a_key_are_refused(string presented)
    {
        var result = await Keys.AuthenticateAsync(presented, offline: false);
        Assert.Equal(AuthOutcome.Invalid, result.Outcome);
        Assert.Equal("invalid_key", result.Reason);
    }

    [Fact]
    public async Task Overlong_keys_are_refused_without_hashing()
    {
        var result = await Keys.AuthenticateAsync(new string('k', 10_000), offline: false);
        Assert.Equal(AuthOutcome.Invalid, result.Outcome);
    }
}
