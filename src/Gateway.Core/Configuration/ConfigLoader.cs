using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Gateway.Configuration;

/// <summary>What loading a configuration produced: the records (when they could be built) and every problem.</summary>
internal sealed record ConfigLoadResult(GatewayConfig? Config, IReadOnlyList<ConfigProblem> Problems, string File, string BaseDirectory)
{
    public bool HasErrors => Config is null || Problems.Any(p => p.IsError);

    public IEnumerable<ConfigProblem> Errors => Problems.Where(p => p.IsError);

    public IEnumerable<ConfigProblem> Warnings => Problems.Where(p => !p.IsError);
}

/// <summary>Reads a YAML file, expands references, binds and validates it.</summary>
internal static class ConfigLoader
{
    /// <summary>Upper bound on a configuration file; anything larger is certainly a mistake.</summary>
    public const int MaxFileBytes = 16 * 1024 * 1024;

    public static ConfigLoadResult LoadFile(string path, Func<string, string?>? environment = null)
    {
        var display = path;
        if (!TryReadText(path, out var text, out var problem))
        {
            return new ConfigLoadResult(null, [problem], display, Directory.GetCurrentDirectory());
        }

        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        return LoadText(text, display, baseDirectory, environment);
    }

    /// <summary>
    /// The text of a YAML input file (a config, a route test file): a regular file (symlinks followed) of at most
    /// <see cref="MaxFileBytes"/>, in UTF-8 or a Unicode encoding its byte order mark names.
    /// </summary>
    public static bool TryReadText(string path, out string text, out ConfigProblem problem)
    {
        text = "";
        problem = new ConfigProblem(path, 0, 0, "", "", ProblemSeverity.Error);
        if (!File.Exists(path))
        {
            problem = problem with { Message = Directory.Exists(path) ? "is a directory, not a config file" : "file not found" };
            return false;
        }

        switch (ConfigFileReader.TryRead(path, MaxFileBytes, out var bytes, out var detail))
        {
            case FileReadFailure.NotRegular:
                problem = problem with { Message = $"is not a regular file ({detail})" };
                return false;
            case FileReadFailure.TooLarge:
                problem = problem with { Message = $"file is larger than {MaxFileBytes / (1024 * 1024)} MiB" };
                return false;
            case FileReadFailure.Unreadable:
                problem = problem with { Message = "cannot read file: " + detail };
                return false;
        }

        if (!ConfigFileReader.TryDecode(bytes, out text, out var bad))
        {
            problem = problem with { Line = bad.Line, Column = bad.Column, Message = bad.Message };
            return false;
        }

        return true;
    }

    public static ConfigLoadResult LoadText(string text, string file, string baseDirectory, Func<string, string?>? environment = null)
    {
        var (config, diagnostics) = Bind<GatewayConfig>(text, file, baseDirectory, environment);
        if (config is null)
        {
            if (!diagnostics.HasErrors)
            {
                diagnostics.ErrorAt(1, 1, "", "the file is empty; a config needs at least 'routes'");
            }

            return new ConfigLoadResult(null, diagnostics.Problems, file, baseDirectory);
        }

        ConfigValidator.Validate(config, diagnostics, baseDirectory);
        config = Tls.TlsPaths.Absolute(config, baseDirectory);

        // In file order, whichever feature found them (a stable sort: problems at one place keep their order).
        return new ConfigLoadResult(config, [.. diagnostics.Problems.OrderBy(p => p.Line).ThenBy(p => p.Column)], file, baseDirectory);
    }

    /// <summary>Parses one YAML document and binds it to <typeparamref name="T"/>, collecting problems with locations.</summary>
    /// <remarks>Never throws for any text: whatever the parser cannot take becomes one located "invalid YAML" problem.</remarks>
    public static (T? Value, ConfigDiagnostics Diagnostics) Bind<T>(string text, string file, string baseDirectory, Func<string, string?>? environment = null)
        where T : class
    {
        environment ??= Environment.GetEnvironmentVariable;
        var diagnostics = new ConfigDiagnostics(file, new SourceMap());
        if (text.StartsWith('\uFEFF'))
        {
            // A byte order mark may open a YAML stream; the parser would take it for the first key's first character.
            text = text[1..];
        }

        if (ForbiddenCharacter(text) is { } forbidden)
        {
            diagnostics.ErrorAt(forbidden.Line, forbidden.Column, "", "invalid YAML: " + forbidden.Message);
            return (null, diagnostics);
        }

        var scanner = new Scanner(new StringReader(text));
        var guarded = new GuardedParser(new Parser(scanner));
        var stream = new YamlStream();
        try
        {
            stream.Load(guarded);
        }
        catch (RefusedYamlException e)
        {
            diagnostics.ErrorAt(Math.Max((int)e.Start.Line, 1), Math.Max((int)e.Start.Column, 1), "", "invalid YAML: " + e.Reason);
            return (null, diagnostics);
        }
        catch (YamlException e)
        {
            var (line, column) = Locate(e, text);
            diagnostics.ErrorAt(line, column, "", "invalid YAML: " + CleanYamlMessage(e.InnerException?.Message ?? e.Message));
            return (null, diagnostics);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Besides YamlException, YamlDotNet throws InvalidOperationException (its scanner, on a flow collection
            // left open across lines), ArgumentException (anchor and tag names, events it does not expect),
            // NotSupportedException and EndOfStreamException on malformed input. None of their messages helps a
            // user, so say where the parser stopped.
            var position = scanner.CurrentPosition;
            var (line, column) = (Math.Max((int)position.Line, 1), Math.Max((int)position.Column, 1));
            var message = guarded.OpenFlowCollection is { } open
                ? $"the '{open.Opener}' at line {open.Start.Line}, column {open.Start.Column} is not closed where the parser expected; "
                    + "close it on its line, or indent the lines that continue it more than its key"
                : "the parser cannot read past this point; check the brackets, quotes and indentation here";
            diagnostics.ErrorAt(line, column, "", "invalid YAML: " + message);
            return (null, diagnostics);
        }

        if (stream.Documents.Count == 0)
        {
            return (null, diagnostics);
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            diagnostics.ErrorAt(Math.Max((int)second.Line, 1), Math.Max((int)second.Column, 1), "", "the file holds more than one YAML document; only one is allowed");
        }

        var binder = new YamlBinder(diagnostics, new Interpolation(environment, baseDirectory));
        return (binder.BindRoot<T>(stream.Documents[0].RootNode), diagnostics);
    }

    private static (int Line, int Column) Locate(YamlException e, string text)
    {
        // Scanner errors carry the start of the scan; the end is where the problem was found.
        var mark = e.End.Line > e.Start.Line ? e.End : e.Start;
        var (line, column) = ((int)mark.Line, (int)mark.Column);
        var located = Regex.Matches(e.Message + " " + e.InnerException?.Message, @"Line: (\d+), Col: (\d+)");
        foreach (Match m in located)
        {
            if (int.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out var l) && l > line
                && int.TryParse(m.Groups[2].Value, CultureInfo.InvariantCulture, out var c))
            {
                (line, column) = (l, c);
            }
        }

        if (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstTabIndent(text) is { } tabLine)
        {
            (line, column) = (tabLine, 1);
        }

        return (Math.Max(line, 1), Math.Max(column, 1));
    }

    /// <summary>The first line indented with a tab (YAML forbids it; the parser does not always say where).</summary>
    private static int? FirstTabIndent(string text)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            if (lines[i].AsSpan(0, indent).Contains('\t'))
            {
                return i + 1;
            }
        }

        return null;
    }

    /// <summary>
    /// The first character YAML does not allow anywhere (control characters other than tab and line breaks, and
    /// halves of surrogate pairs): the parser would stop at a NUL as if the file ended there, or fail unhelpfully.
    /// </summary>
    private static (int Line, int Column, string Message)? ForbiddenCharacter(string text)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
                lineStart = i + 1;
                continue;
            }

            string? problem = null;
            if ((c < 0x20 && c is not '\t' and not '\r') || c == 0x7F || (c is >= '\u0080' and <= '\u009F' && c != '\u0085') || c is '\uFFFE' or '\uFFFF')
            {
                problem = $"the control character U+{(int)c:X4} is not allowed (is this a binary file?)";
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                problem = $"U+{(int)c:X4} is half of a character (the text is not valid Unicode)";
            }

            if (problem is not null)
            {
                return (line, i - lineStart + 1, problem);
            }
        }

        return null;
    }

    private static string CleanYamlMessage(string message)
    {
        // YamlDotNet prefixes messages with "(Line: x, Col: y, Idx: z) - (Line: ...): "; the location is ours to print.
        var marker = message.LastIndexOf("): ", StringComparison.Ordinal);
        return marker >= 0 && message.StartsWith("(Line", StringComparison.Ordinal) ? message[(marker + 3)..] : message;
    }

    /// <summary>A YAML construct the guard refuses, with where it starts and why (without YamlDotNet's prefix).</summary>
    private sealed class RefusedYamlException : YamlException
    {
        public RefusedYamlException(Mark start, string reason)
            : base(start, start, reason)
        {
            Reason = reason;
        }

        public string Reason { get; }
    }

    /// <summary>
    /// Stands between YamlDotNet's parser and its node model, and refuses with a location what the model cannot take
    /// safely. The model builds nodes recursively (deep nesting would overflow the stack, which no handler catches),
    /// hashes mapping keys recursively (a list or mapping as a key, or one reached through an alias, costs its whole
    /// expansion, or never ends when it contains itself), and keeps an aliased node once while the binder walks it at
    /// every alias, so nested aliases ("billion laughs") would multiply the binder's work and output. Configuration
    /// keys are always single values, aliases must name an anchor defined before them (as YAML says) outside
    /// themselves, and all aliases together may add at most <see cref="MaxAliasNodes"/> nodes.
    /// </summary>
    private sealed class GuardedParser(IParser inner) : IParser
    {
        /// <summary>Deepest nesting of lists and mappings; a configuration needs under ten.</summary>
        public const int MaxDepth = 64;

        /// <summary>Most nodes that aliases may add to the document once expanded.</summary>
        public const long MaxAliasNodes = 1_000_000;

        private readonly List<Frame> _open = [];
        private readonly Dictionary<string, Anchored> _anchors = new(StringComparer.Ordinal);
        private long _aliasNodes;

        public ParsingEvent? Current => inner.Current;

        /// <summary>The outermost flow collection (<c>{...}</c> or <c>[...]</c>) still open, if any.</summary>
        public (char Opener, Mark Start)? OpenFlowCollection
        {
            get
            {
                foreach (var frame in _open)
                {
                    if (frame.IsFlow)
                    {
                        return (frame.IsMapping ? '{' : '[', frame.Start);
                    }
                }

                return null;
            }
        }

        public bool MoveNext()
        {
            if (!inner.MoveNext())
            {
                return false;
            }

            switch (inner.Current)
            {
                case DocumentStart:
                    // Anchors belong to one document, as in the node model.
                    _anchors.Clear();
                    _open.Clear();
                    break;
                case Scalar scalar:
                    Anchor(scalar, isCollection: false);
                    Completed(size: 1);
                    break;
                case AnchorAlias alias:
                    Alias(alias);
                    break;
                case SequenceStart sequence:
                    Open(sequence, isMapping: false, sequence.Style == YamlDotNet.Core.Events.SequenceStyle.Flow);
                    break;
                case MappingStart mapping:
                    Open(mapping, isMapping: true, mapping.Style == YamlDotNet.Core.Events.MappingStyle.Flow);
                    break;
                case SequenceEnd or MappingEnd when _open.Count > 0:
                    var frame = _open[^1];
                    _open.RemoveAt(_open.Count - 1);
                    if (frame.Anchor is { } anchored)
                    {
                        anchored.Size = frame.Size;
                        anchored.IsOpen = false;
                    }

                    Completed(frame.Size);
                    break;
            }

            return true;
        }

        private bool AtKey => _open.Count > 0 && _open[^1] is { IsMapping: true, ExpectsKey: true };

        private void Open(NodeEvent start, bool isMapping, bool isFlow)
        {
            if (AtKey)
            {
                throw new RefusedYamlException(start.Start, "a mapping key must be a single value, not a list or mapping");
            }

            if (_open.Count >= MaxDepth)
            {
                throw new RefusedYamlException(start.Start, $"lists and mappings are nested more than {MaxDepth} levels deep");
            }

            _open.Add(new Frame(isMapping, isFlow, start.Start, Anchor(start, isCollection: true)));
        }

        /// <summary>
        /// Registers the node's anchor as the node model does: when the node starts, so an alias inside the node
        /// already names it (a cycle, refused) and a later anchor of the same name replaces it.
        /// </summary>
        private Anchored? Anchor(NodeEvent node, bool isCollection)
        {
            if (node.Anchor.IsEmpty)
            {
                return null;
            }

            var anchored = new Anchored(isCollection) { IsOpen = isCollection };
            _anchors[node.Anchor.Value] = anchored;
            return anchored;
        }

        private void Alias(AnchorAlias alias)
        {
            var name = alias.Value.IsEmpty ? "" : alias.Value.Value;
            if (!_anchors.TryGetValue(name, out var anchored))
            {
                throw new RefusedYamlException(alias.Start, $"the alias '*{name}' names no anchor defined before it");
            }

            if (anchored.IsOpen)
            {
                throw new RefusedYamlException(alias.Start, $"the alias '*{name}' is inside the node it names, which would contain itself");
            }

            if (AtKey && anchored.IsCollection)
            {
                throw new RefusedYamlException(alias.Start, "a mapping key must be a single value, not a list or mapping");
            }

            _aliasNodes += anchored.Size;
            if (_aliasNodes > MaxAliasNodes)
            {
                throw new RefusedYamlException(alias.Start, $"aliases expand to more than {MaxAliasNodes:N0} nodes; write the values out instead of nesting aliases");
            }

            Completed(anchored.Size);
        }

        /// <summary>A node of <paramref name="size"/> expanded nodes is complete: count it in its parent.</summary>
        private void Completed(long size)
        {
            if (_open.Count == 0)
            {
                return;
            }

            var parent = _open[^1];
            parent.Size += size;
            if (parent.IsMapping)
            {
                parent.ExpectsKey = !parent.ExpectsKey;
            }
        }

        private sealed class Frame(bool isMapping, bool isFlow, Mark start, Anchored? anchor)
        {
            public bool IsMapping { get; } = isMapping;

            public bool IsFlow { get; } = isFlow;

            public Mark Start { get; } = start;

            public Anchored? Anchor { get; } = anchor;

            public bool ExpectsKey { get; set; } = true;

            /// <summary>The nodes this one stands for with aliases expanded, itself included.</summary>
            public long Size { get; set; } = 1;
        }

        private sealed class Anchored(bool isCollection)
        {
            public bool IsCollection { get; } = isCollection;

            public bool IsOpen { get; set; }

            public long Size { get; set; } = 1;
        }
    }
}

/// <summary>
/// Reads the files a configuration names (the configuration itself, <c>${file:...}</c> references) without trusting
/// what the path is: a device such as <c>/dev/zero</c> never ends and has no length to check, and opening a FIFO
/// blocks until something writes to it, so only regular files are opened (symlinks followed to their final
/// target), and never more than a cap is read.
/// </summary>
internal static class ConfigFileReader
{
    /// <summary>What the path names when it is not a regular file ("a character device"); null for a regular file.</summary>
    /// <remarks>Also null when the kind cannot be told (the path vanished, or no stat on this platform): opening it then says why.</remarks>
    public static string? NonRegularKind(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            var attributes = File.GetAttributes(path);
            return (attributes & FileAttributes.Directory) != 0 ? "a directory"
                : (attributes & FileAttributes.Device) != 0 ? "a device"
                : null;
        }

        int mode;
        try
        {
            // stat(2) through the runtime's own native shim, whose FileStatus starts with Flags then Mode on every
            // platform .NET runs on (.NET has no managed way to ask for a file's type). The buffer is larger than
            // the structure.
            var status = new byte[256];
            if (Stat(path, status) != 0)
            {
                return null;
            }

            mode = BitConverter.ToInt32(status, 4);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return Directory.Exists(path) ? "a directory" : null;
        }

        return (mode & 0xF000) switch
        {
            0x8000 => null,
            0x4000 => "a directory",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0x1000 => "a FIFO (named pipe)",
            0xC000 => "a socket",
            _ => "not a regular file",
        };
    }

    /// <summary>
    /// Reads a regular file of at most <paramref name="maxBytes"/>. On failure <paramref name="detail"/> says what
    /// the path is (<see cref="FileReadFailure.NotRegular"/>) or why it could not be read.
    /// </summary>
    public static FileReadFailure TryRead(string path, int maxBytes, out byte[] content, out string detail)
    {
        content = [];
        detail = "";
        try
        {
            if (NonRegularKind(path) is { } kind)
            {
                detail = kind;
                return FileReadFailure.NotRegular;
            }

            using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite, BufferSize = 0 });
            if (!stream.CanSeek)
            {
                // Replaced by something that is not a file between the check and the open.
                detail = "not a file";
                return FileReadFailure.NotRegular;
            }

            // The length is where to start, not a promise: the file may grow while it is read, so the cap is on what is read.
            var buffer = new byte[(int)Math.Clamp(stream.Length + 1, 1, (long)maxBytes + 1)];
            var total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (buffer.Length > maxBytes)
                    {
                        return FileReadFailure.TooLarge;
                    }

                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, (long)maxBytes + 1));
                }

                var read = stream.Read(buffer, total, buffer.Length - total);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            content = total == buffer.Length ? buffer : buffer[..total];
            return FileReadFailure.None;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            detail = e.Message;
            return FileReadFailure.Unreadable;
        }
    }

    /// <summary>
    /// Decodes a file's bytes: UTF-8 unless a byte order mark names UTF-16 or UTF-32 (as <see cref="File.ReadAllText(string)"/>
    /// does), refusing invalid sequences rather than replacing them, with where the first one is.
    /// </summary>
    public static bool TryDecode(byte[] bytes, out string text, out (int Line, int Column, string Message) problem)
    {
        problem = default;
        var (encoding, name, skip) = bytes switch
        {
            [0xEF, 0xBB, 0xBF, ..] => ((Encoding)new UTF8Encoding(false, true), "UTF-8", 3),
            [0xFF, 0xFE, 0x00, 0x00, ..] => (new UTF32Encoding(false, false, true), "UTF-32", 4),
            [0x00, 0x00, 0xFE, 0xFF, ..] => (new UTF32Encoding(true, false, true), "UTF-32", 4),
            [0xFF, 0xFE, ..] => (new UnicodeEncoding(false, false, true), "UTF-16", 2),
            [0xFE, 0xFF, ..] => (new UnicodeEncoding(true, false, true), "UTF-16", 2),
            _ => (new UTF8Encoding(false, true), "UTF-8", 0),
        };

        try
        {
            text = encoding.GetString(bytes, skip, bytes.Length - skip);
            return true;
        }
        catch (DecoderFallbackException e)
        {
            // Where the bad bytes are, counted in the characters before them (which decode).
            var (line, column) = (1, 1);
            if (e.Index >= 0 && e.Index <= bytes.Length - skip)
            {
                var lenient = (Encoding)encoding.Clone();
                lenient.DecoderFallback = DecoderFallback.ReplacementFallback;
                var before = lenient.GetString(bytes, skip, e.Index);
                line = 1 + before.AsSpan().Count('\n');
                column = before.Length - (before.LastIndexOf('\n') + 1) + 1;
            }

            var bad = e.BytesUnknown is { Length: > 0 } unknown ? $" (byte 0x{unknown[0]:X2})" : "";
            problem = (line, column, $"the file is not valid {name}{bad}; save it as UTF-8");
            text = "";
            return false;
        }
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [Out] byte[] status);
}

/// <summary>Why <see cref="ConfigFileReader.TryRead"/> returned no content.</summary>
internal enum FileReadFailure
{
    None,
    NotRegular,
    TooLarge,
    Unreadable,
}
