using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Gateway.Configuration;

/// <summary>
/// Binds a YAML node tree onto the configuration records, recording where every key was written and
/// reporting unknown keys (with a suggestion) and wrong types without stopping at the first one.
/// </summary>
internal sealed class YamlBinder(ConfigDiagnostics diagnostics, Interpolation interpolation)
{
    private static readonly ConcurrentDictionary<Type, RecordShape> Shapes = new();

    public T? BindRoot<T>(YamlNode node) where T : class => (T?)Bind(node, typeof(T), "", secret: false);

    private object? Bind(YamlNode node, Type type, string path, bool secret)
    {
        diagnostics.Map.Add(path, (int)node.Start.Line, (int)node.Start.Column);
        if (IsNull(node))
        {
            return null;
        }

        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string))
        {
            return ScalarText(node, path, "a string");
        }

        if (underlying == typeof(int) || underlying == typeof(long) || underlying == typeof(double) || underlying == typeof(bool))
        {
            return BindNumberOrBool(node, underlying, path, secret);
        }

        if (underlying == typeof(StringList))
        {
            return BindStringList(node, path, secret);
        }

        if (node is YamlScalarNode && underlying.GetCustomAttribute<ScalarFormAttribute>() is { } scalarForm)
        {
            var text = ScalarText(node, path, "a string");
            if (text is null)
            {
                return null;
            }

            var instance = Activator.CreateInstance(underlying)!;
            underlying.GetProperty(scalarForm.Property)!.SetValue(instance, text);
            return instance;
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(List<>))
        {
            return BindList(node, underlying, path, secret);
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            return BindDictionary(node, underlying, path, secret);
        }

        return BindRecord(node, underlying, path);
    }

    private object? BindRecord(YamlNode node, Type type, string path)
    {
        if (node is not YamlMappingNode mapping)
        {
            diagnostics.Error(path, $"must be a mapping of keys ({Describe(node)} given)");
            return null;
        }

        var shape = Shapes.GetOrAdd(type, static t => new RecordShape(t));
        var instance = Activator.CreateInstance(type)!;
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = keyNode is YamlScalarNode scalarKey ? scalarKey.Value ?? "" : "";
            var childPath = path.Length == 0 ? key : path + "." + key;
            if (!shape.Properties.TryGetValue(key, out var property))
            {
                diagnostics.Map.Add(childPath, (int)keyNode.Start.Line, (int)keyNode.Start.Column);
                var suggestion = Suggest(key, shape.Names);
                diagnostics.Error(childPath, suggestion is null
                    ? $"unknown key '{key}'"
                    : $"unknown key '{key}'; did you mean '{suggestion}'?");
                continue;
            }

            if (valueNode is YamlMappingNode or YamlSequenceNode && valueNode.Start.Line > keyNode.Start.Line)
            {
                // A block below its key: what is said about the whole block points at the key, not at its first line.
                diagnostics.Map.Add(childPath, (int)keyNode.Start.Line, (int)keyNode.Start.Column);
            }

            var value = Bind(valueNode, property.Info.PropertyType, childPath, property.IsSecret);
            if (value is null && IsNull(valueNode) && !property.IsNullable)
            {
                // `key:` with nothing after it keeps the default, as an absent key would.
                continue;
            }

            if (value is not null || property.IsNullable)
            {
                property.Info.SetValue(instance, value);
            }
        }

        return instance;
    }

    private object? BindList(YamlNode node, Type listType, string path, bool secret)
    {
        if (node is not YamlSequenceNode sequence)
        {
            diagnostics.Error(path, $"must be a list ({Describe(node)} given)");
            return null;
        }

        var elementType = listType.GetGenericArguments()[0];
        var list = (IList)Activator.CreateInstance(listType)!;
        var index = 0;
        foreach (var item in sequence.Children)
        {
            var value = Bind(item, elementType, $"{path}[{index}]", secret);
            if (value is not null)
            {
                list.Add(value);
            }
            else if (IsNull(item))
            {
                diagnostics.Error($"{path}[{index}]", "must not be empty");
            }

            index++;
        }

        return list;
    }

    private object? BindDictionary(YamlNode node, Type dictionaryType, string path, bool secret)
    {
        if (node is not YamlMappingNode mapping)
        {
            diagnostics.Error(path, $"must be a mapping ({Describe(node)} given)");
            return null;
        }

        var valueType = dictionaryType.GetGenericArguments()[1];
        var dictionary = (IDictionary)Activator.CreateInstance(dictionaryType, StringComparer.Ordinal)!;
        var index = 0;
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            // The keys of a secret map (API keys) are themselves secret: name entries by position.
            var rawKey = keyNode is YamlScalarNode scalar ? scalar.Value ?? "" : "";
            var childPath = secret ? $"{path}[{index}]" : $"{path}.{rawKey}";
            diagnostics.Map.Add(childPath, (int)keyNode.Start.Line, (int)keyNode.Start.Column);
            var key = ScalarText(keyNode, childPath, "a string");
            index++;
            if (key is null)
            {
                continue;
            }

            if (dictionary.Contains(key))
            {
                diagnostics.Error(childPath, "duplicate key");
                continue;
            }

            var value = Bind(valueNode, valueType, childPath, secret);
            if (value is null && valueType == typeof(string))
            {
                value = "";
            }

            if (value is not null)
            {
                dictionary[key] = value;
            }
            else if (IsNull(valueNode))
            {
                // Dropping the entry would drop what it asks for (a header condition, an API key) without a word.
                diagnostics.Error(childPath, "must not be empty");
            }
        }

        return dictionary;
    }

    private StringList? BindStringList(YamlNode node, string path, bool secret)
    {
        if (node is YamlSequenceNode)
        {
            var list = (List<string>?)BindList(node, typeof(List<string>), path, secret);
            return list is null ? null : new StringList(list);
        }

        var single = ScalarText(node, path, "a string or a list of strings");
        return single is null ? null : new StringList([single]);
    }

    private object? BindNumberOrBool(YamlNode node, Type type, string path, bool secret)
    {
        var expected = type == typeof(bool) ? "true or false" : type == typeof(double) ? "a number" : "an integer";
        var text = ScalarText(node, path, expected, out var interpolated);
        if (text is null)
        {
            return null;
        }

        var shown = secret || interpolated ? "" : $", got '{Truncate(text)}'";
        if (type == typeof(bool))
        {
            if (bool.TryParse(text, out var b))
            {
                return b;
            }
        }
        else if (type == typeof(int))
        {
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
            {
                return i;
            }
        }
        else if (type == typeof(long))
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            {
                return l;
            }
        }
        else if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return d;
        }

        // A whole number written as JSON and YAML also write numbers (8080.0, 1e3) is that integer, as an editor's
        // schema check reads it too.
        if ((type == typeof(int) || type == typeof(long)) && !text.Contains('x', StringComparison.OrdinalIgnoreCase)
            && double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var whole)
            && double.IsFinite(whole) && Math.Floor(whole) == whole && Math.Abs(whole) <= (type == typeof(int) ? int.MaxValue : 9_007_199_254_740_992d))
        {
            return type == typeof(int) ? (object)(int)whole : (long)whole;
        }

        var outOfRange = type != typeof(bool) && System.Numerics.BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
        diagnostics.Error(path, outOfRange ? $"is out of range for {expected}{shown}" : $"must be {expected}{shown}");
        return null;
    }

    private string? ScalarText(YamlNode node, string path, string expected) =>
        ScalarText(node, path, expected, out _);

    private string? ScalarText(YamlNode node, string path, string expected, out bool interpolated)
    {
        interpolated = false;
        if (node is not YamlScalarNode scalar)
        {
            diagnostics.Error(path, $"must be {expected} ({Describe(node)} given)");
            return null;
        }

        var raw = scalar.Value ?? "";
        if (!interpolation.TryExpand(raw, out var value, out interpolated, out var error))
        {
            diagnostics.Error(path, error!);
            return null;
        }

        if (interpolated)
        {
            diagnostics.RecordInterpolated(value, raw);
        }

        return value;
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } scalar
        && (scalar.Value is null or "" or "~" or "null" or "Null" or "NULL");

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "a single value",
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";

    /// <summary>The closest known name, when it is close enough to be a likely typo.</summary>
    internal static string? Suggest(string unknown, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Levenshtein(unknown.ToLowerInvariant().Replace('-', '_'), candidate);
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = candidate;
            }
        }

        var allowed = Math.Max(2, unknown.Length / 3);
        if (bestDistance <= allowed)
        {
            return best;
        }

        // Not a typo: a word other gateways use for the same key, or one word of a longer key ('default' for 'default_action').
        var key = unknown.ToLowerInvariant().Replace('-', '_');
        foreach (var candidate in candidates)
        {
            if ((Synonyms.TryGetValue(key, out var meant) && meant == candidate) || candidate.Split('_').Contains(key, StringComparer.Ordinal))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Names other gateways and firewalls give to keys of this schema.</summary>
    private static readonly Dictionary<string, string> Synonyms = new(StringComparer.Ordinal)
    {
        ["allow"] = "whitelist",
        ["allowlist"] = "whitelist",
        ["allow_list"] = "whitelist",
        ["allowed"] = "whitelist",
        ["deny"] = "blacklist",
        ["denylist"] = "blacklist",
        ["deny_list"] = "blacklist",
        ["denied"] = "blacklist",
        ["blocklist"] = "blacklist",
        ["block"] = "blacklist",
        ["upstream"] = "backend",
        ["upstreams"] = "backends",
        ["target"] = "backend",
        ["targets"] = "backends",
        ["url"] = "backend",
        ["timeout"] = "timeout_secs",
    };

    private static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    internal static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// The keys a record binds, in the order of its properties: each settable property under its snake_case name,
    /// followed by its aliases (<see cref="ConfigAliasAttribute"/>). The schema (<see cref="ConfigSchema"/>) is made
    /// from the same list, so the two cannot disagree on a key.
    /// </summary>
    internal static IEnumerable<ConfigKey> Keys(Type record)
    {
        foreach (var property in record.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite || property.GetIndexParameters().Length > 0 || property.Name == "EqualityContract")
            {
                continue;
            }

            var name = SnakeCase(property.Name);
            yield return new ConfigKey(name, property, IsAlias: false);
            foreach (var alias in property.GetCustomAttributes<ConfigAliasAttribute>())
            {
                yield return new ConfigKey(alias.Name, property, IsAlias: true);
            }
        }
    }

    /// <summary>What binding needs of one property, read by reflection once per type rather than once per key.</summary>
    private sealed record PropertyShape(PropertyInfo Info, bool IsSecret, bool IsNullable);

    private sealed class RecordShape
    {
        public RecordShape(Type type)
        {
            var nullability = new NullabilityInfoContext();
            PropertyShape? shape = null;
            foreach (var key in Keys(type))
            {
                if (!key.IsAlias)
                {
                    shape = new PropertyShape(
                        key.Property,
                        key.Property.IsDefined(typeof(SecretAttribute)),
                        Nullable.GetUnderlyingType(key.Property.PropertyType) is not null
                            || nullability.Create(key.Property).WriteState == NullabilityState.Nullable);
                    Names.Add(key.Name);
                }

                Properties[key.Name] = shape!;
            }
        }

        public Dictionary<string, PropertyShape> Properties { get; } = new(StringComparer.Ordinal);

        public List<string> Names { get; } = [];
    }
}

/// <summary>One key of a config record: its name in the file, the property it sets, and whether it is an alias of the property's own name.</summary>
internal sealed record ConfigKey(string Name, PropertyInfo Property, bool IsAlias);
