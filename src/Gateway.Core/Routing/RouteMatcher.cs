using System.Collections.Frozen;
using System.Text;
using Gateway.Pipeline;

namespace Gateway.Routing;

internal enum MatchOutcome
{
    Matched,
    NotFound,
    MethodNotAllowed,
}

/// <summary>The matcher's answer for one request.</summary>
internal readonly record struct RouteMatch(MatchOutcome Outcome, CompiledRoute? Route, string? Allow)
{
    public static RouteMatch NotFound => new(MatchOutcome.NotFound, null, null);
}

/// <summary>
/// Finds the route for a normalized path: a segment trie walked without allocation (literal children
/// looked up by span), candidates ranked by a precedence computed once when the table is built.
/// </summary>
internal sealed class RouteMatcher
{
    private readonly Node _root;

    public RouteMatcher(IReadOnlyList<CompiledRoute> routes)
    {
        var builder = new NodeBuilder();
        foreach (var route in routes)
        {
            var node = builder;
            var terminal = true;
            foreach (var segment in route.Pattern.Segments)
            {
                if (segment.Kind == SegmentKind.Literal)
                {
                    node.Literals ??= new Dictionary<string, NodeBuilder>(StringComparer.Ordinal);
                    if (!node.Literals.TryGetValue(segment.Value, out var child))
                    {
                        child = new NodeBuilder();
                        node.Literals[segment.Value] = child;
                    }

                    node = child;
                }
                else if (segment.Kind == SegmentKind.Parameter)
                {
                    node = node.Parameter ??= new NodeBuilder();
                }
                else
                {
                    (node.Wildcards ??= []).Add(route);
                    terminal = false;
                    break;
                }
            }

            if (terminal)
            {
                (node.Terminals ??= []).Add(route);
            }
        }

        _root = NodeBuilder.BuildAll(builder);
    }

    public RouteMatch Match(string method, string path, Exchange request)
    {
        CompiledRoute? best = null;
        var anyPathMatch = false;
        Walk(_root, path, 1, method, request, ref best, ref anyPathMatch);
        if (best is not null)
        {
            return new RouteMatch(MatchOutcome.Matched, best, null);
        }

        return anyPathMatch ? new RouteMatch(MatchOutcome.MethodNotAllowed, null, CollectAllow(path, request)) : RouteMatch.NotFound;
    }

    /// <summary>
    /// Every route whose path and conditions match, best first, whatever the method (for explain).
    /// </summary>
    public List<CompiledRoute> Candidates(string path, Exchange request)
    {
        var found = new List<CompiledRoute>();
        Collect(_root, path, 1, request, found, ignoreHeaders: false);
        found.Sort(static (a, b) => a.Rank.CompareTo(b.Rank));
        return found;
    }

    private static void Walk(Node node, string path, int position, string method, Exchange request, ref CompiledRoute? best, ref bool anyPathMatch)
    {
        Consider(node.Wildcards, method, request, ref best, ref anyPathMatch);
        if (position > path.Length)
        {
            Consider(node.Terminals, method, request, ref best, ref anyPathMatch);
            return;
        }

        var end = path.IndexOf('/', position);
        var segment = end < 0 ? path.AsSpan(position) : path.AsSpan(position, end - position);
        var next = end < 0 ? path.Length + 1 : end + 1;
        if (node.Literals is not null && node.Literals.TryGetValue(segment, out var literal))
        {
            Walk(literal, path, next, method, request, ref best, ref anyPathMatch);
        }

        if (node.Parameter is not null && segment.Length > 0)
        {
            Walk(node.Parameter, path, next, method, request, ref best, ref anyPathMatch);
        }
    }

    private static void Consider(CompiledRoute[] routes, string method, Exchange request, ref CompiledRoute? best, ref bool anyPathMatch)
    {
        // Sorted by rank: the first acceptable route is the best of this list.
        foreach (var route in routes)
        {
            if (best is not null && route.Rank >= best.Rank)
            {
                return;
            }

            var conditions = route.Conditions;
            if (conditions.Count > 0 && !conditions.MatchesRequest(request))
            {
                continue;
            }

            if (!conditions.AllowsMethod(method))
            {
                anyPathMatch = true;
                continue;
            }

            best = route;
            return;
        }
    }

    /// <summary>
    /// The routes a CORS preflight's real request could reach: path, hosts, query and the method it asks about, with
    /// header conditions left out (the preflight carries none of the real request's headers). Best first.
    /// </summary>
    public List<CompiledRoute> PreflightCandidates(string method, string path, Exchange request)
    {
        var found = new List<CompiledRoute>();
        Collect(_root, path, 1, request, found, ignoreHeaders: true);
        found.RemoveAll(route => !route.Conditions.AllowsMethod(method));
        found.Sort(static (a, b) => a.Rank.CompareTo(b.Rank));
        return found;
    }

    private string CollectAllow(string path, Exchange request)
    {
        var methods = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var route in Candidates(path, request))
        {
            if (route.Conditions.Methods is { } list)
            {
                methods.UnionWith(list);
            }
        }

        return new StringBuilder().AppendJoin(", ", methods).ToString();
    }

    private static void Collect(Node node, string path, int position, Exchange request, List<CompiledRoute> found, bool ignoreHeaders)
    {
        AddMatching(node.Wildcards, request, found, ignoreHeaders);
        if (position > path.Length)
        {
            AddMatching(node.Terminals, request, found, ignoreHeaders);
            return;
        }

        var end = path.IndexOf('/', position);
        var segment = end < 0 ? path.AsSpan(position) : path.AsSpan(position, end - position);
        var next = end < 0 ? path.Length + 1 : end + 1;
        if (node.Literals is not null && node.Literals.TryGetValue(segment, out var literal))
        {
            Collect(literal, path, next, request, found, ignoreHeaders);
        }

        if (node.Parameter is not null && segment.Length > 0)
        {
            Collect(node.Parameter, path, next, request, found, ignoreHeaders);
        }
    }

    private static void AddMatching(CompiledRoute[] routes, Exchange request, List<CompiledRoute> found, bool ignoreHeaders)
    {
        foreach (var route in routes)
        {
            if (route.Conditions.Count == 0 || route.Conditions.MatchesRequest(request, ignoreHeaders))
            {
                found.Add(route);
            }
        }
    }

    private sealed class Node(FrozenDictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>>? literals, Node? parameter, CompiledRoute[] terminals, CompiledRoute[] wildcards)
    {
        public LiteralLookup? Literals { get; } = literals is { } lookup ? new LiteralLookup(lookup) : null;

        public Node? Parameter { get; } = parameter;

        public CompiledRoute[] Terminals { get; } = terminals;

        public CompiledRoute[] Wildcards { get; } = wildcards;
    }

    private sealed class LiteralLookup(FrozenDictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> lookup)
    {
        public bool TryGetValue(ReadOnlySpan<char> segment, out Node node) => lookup.TryGetValue(segment, out node!);
    }

    /// <summary>
    /// One node of the trie while it is built. Most nodes of a large table have one child and one route, so the
    /// collections are made only when needed.
    /// </summary>
    private sealed class NodeBuilder
    {
        public Dictionary<string, NodeBuilder>? Literals { get; set; }

        public NodeBuilder? Parameter { get; set; }

        public List<CompiledRoute>? Terminals { get; set; }

        public List<CompiledRoute>? Wildcards { get; set; }

        private Node? _built;

        /// <summary>
        /// Builds every node, children before parents, without recursion: a route path may have thousands of
        /// segments, each a level of the trie, and a recursive build would overflow the stack.
        /// </summary>
        public static Node BuildAll(NodeBuilder root)
        {
            var parentsFirst = new List<NodeBuilder>();
            var pending = new Stack<NodeBuilder>();
            pending.Push(root);
            while (pending.TryPop(out var node))
            {
                parentsFirst.Add(node);
                if (node.Literals is not null)
                {
                    foreach (var child in node.Literals.Values)
                    {
                        pending.Push(child);
                    }
                }

                if (node.Parameter is not null)
                {
                    pending.Push(node.Parameter);
                }
            }

            for (var i = parentsFirst.Count - 1; i >= 0; i--)
            {
                parentsFirst[i]._built = parentsFirst[i].Build();
            }

            return root._built!;
        }

        private Node Build()
        {
            FrozenDictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>>? literals = null;
            if (Literals is { Count: > 0 })
            {
                var frozen = Literals.ToFrozenDictionary(pair => pair.Key, pair => pair.Value._built!, StringComparer.Ordinal);
                literals = frozen.GetAlternateLookup<ReadOnlySpan<char>>();
            }

            return new Node(literals, Parameter?._built, ByRank(Terminals), ByRank(Wildcards));
        }

        private static CompiledRoute[] ByRank(List<CompiledRoute>? routes)
        {
            if (routes is null)
            {
                return [];
            }

            var sorted = routes.ToArray();
            if (sorted.Length > 1)
            {
                // Ranks are distinct (positions in the precedence order), so an unstable sort gives the one order.
                Array.Sort(sorted, static (a, b) => a.Rank.CompareTo(b.Rank));
            }

            return sorted;
        }
    }
}
