using System.Globalization;
using System.Text;

namespace Gateway.Observability.Metrics;

/// <summary>Instrument names, units and tags as Prometheus spells them, and the text format's escaping.</summary>
internal static class PrometheusNames
{
    /// <summary>
    /// The exported name: characters Prometheus does not allow become <c>_</c>, the unit is appended when the name does
    /// not already end with it (<c>s</c> as <c>_seconds</c>, <c>By</c> as <c>_bytes</c>), and counters end in <c>_total</c>.
    /// A gauge or counter whose name ends like a histogram's series (<c>dotnet.assembly.count</c>) gets <c>_value</c>
    /// appended, so that no reader takes it for part of a histogram (promtool refuses it otherwise).
    /// </summary>
    public static string Of(string instrument, string? unit, bool counter, bool histogram)
    {
        var name = Sanitize(instrument);
        var suffix = unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => null,
        };
        if (suffix is not null && !name.EndsWith(suffix, StringComparison.Ordinal) && !name.Contains(suffix + "_", StringComparison.Ordinal))
        {
            name += suffix;
        }

        if (!histogram && (name.EndsWith("_count", StringComparison.Ordinal) || name.EndsWith("_sum", StringComparison.Ordinal) || name.EndsWith("_bucket", StringComparison.Ordinal)))
        {
            name += "_value";
        }

        if (counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        return name;
    }

    public static string Sanitize(string name)
    {
        var builder = new StringBuilder(name.Length + 1);
        if (name.Length > 0 && char.IsAsciiDigit(name[0]))
        {
            builder.Append('_');
        }

        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        return builder.ToString();
    }

    public static void AppendLabels(StringBuilder text, KeyValuePair<string, object?>[] tags, string? extraName, string? extraValue)
    {
        if (tags.Length == 0 && extraName is null)
        {
            return;
        }

        text.Append('{');
        var first = true;
        foreach (var (key, value) in tags)
        {
            if (!first)
            {
                text.Append(',');
            }

            first = false;
            text.Append(Sanitize(key)).Append("=\"");
            AppendEscaped(text, value switch
            {
                null => "",
                string s => s,
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString() ?? "",
            });
            text.Append('"');
        }

        if (extraName is not null)
        {
            if (!first)
            {
                text.Append(',');
            }

            text.Append(extraName).Append("=\"").Append(extraValue).Append('"');
        }

        text.Append('}');
    }

    public static void AppendHelp(StringBuilder text, string help)
    {
        foreach (var c in help)
        {
            _ = c switch
            {
                '\\' => text.Append(@"\\"),
                '\n' => text.Append(@"\n"),
                _ => text.Append(c),
            };
        }
    }

    public static void AppendValue(StringBuilder text, double value) => text.Append(Format(value));

    public static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static void AppendEscaped(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => text.Append(@"\\"),
                '"' => text.Append("\\\""),
                '\n' => text.Append(@"\n"),
                _ => text.Append(c),
            };
        }
    }
}
