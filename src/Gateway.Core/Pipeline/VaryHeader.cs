using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Pipeline;

/// <summary>The <c>Vary</c> header of a response, which several stages add to (CORS, compression).</summary>
internal static class VaryHeader
{
    /// <summary>Adds a name to <c>Vary</c> unless it is there (or <c>*</c> is): idempotent, so a response side may run again.</summary>
    public static void Add(IHeaderDictionary response, string name)
    {
        var vary = response[HeaderNames.Vary];
        var empty = 0;
        foreach (var value in vary)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                empty++;
                continue;
            }

            foreach (var range in value.AsSpan().Split(','))
            {
                var part = value.AsSpan()[range].Trim();
                if (part.Equals(name, StringComparison.OrdinalIgnoreCase) || part.SequenceEqual("*"))
                {
                    return;
                }
            }
        }

        if (empty > 0)
        {
            // An empty Vary (a backend's "Vary:") names nothing: dropped rather than sent as an empty list element.
            vary = new StringValues([.. vary.Where(v => !string.IsNullOrWhiteSpace(v))]);
        }

        response[HeaderNames.Vary] = vary.Count == 0 ? name : StringValues.Concat(vary, name);
    }
}
