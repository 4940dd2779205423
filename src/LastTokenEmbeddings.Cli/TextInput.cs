using System.Text;
using System.Text.Json;

namespace LastTokenEmbeddings.Cli;

/// <summary>Texts from the command line and from <c>--input</c>.</summary>
internal static class TextInput
{
    /// <summary>
    /// The <paramref name="arguments"/> followed by the texts of <paramref name="inputPath"/> (when given).
    /// </summary>
    /// <param name="arguments">Texts given as arguments.</param>
    /// <param name="inputPath">A file, or <c>-</c> for stdin; <see langword="null"/> for none.</param>
    /// <param name="stdin">Reader used for <c>-</c>.</param>
    /// <exception cref="UsageException">No text at all.</exception>
    /// <exception cref="CliRuntimeException">The file cannot be read.</exception>
    public static IReadOnlyList<string> Collect(IReadOnlyList<string>? arguments, string? inputPath, Func<TextReader> stdin)
    {
        var texts = new List<string>(arguments ?? []);
        if (inputPath is not null)
            texts.AddRange(Parse(ReadAll(inputPath, stdin)));
        if (texts.Count == 0)
            throw new UsageException("no texts: pass them as arguments or with --input FILE.");
        return texts;
    }

    /// <summary>
    /// Texts in a file's content: JSON lines when every non-empty line is a JSON object with a string <c>text</c>
    /// field (the <c>text</c> values are returned), otherwise every non-empty line as it is (without the line break).
    /// </summary>
    public static IReadOnlyList<string> Parse(string content)
    {
        var lines = content.Split('\n').Select(line => line.EndsWith('\r') ? line[..^1] : line)
            .Where(line => line.Trim().Length > 0).ToList();
        var json = new List<string>(lines.Count);
        foreach (var line in lines)
        {
            if (TryJsonText(line) is not { } text)
                return lines;
            json.Add(text);
        }
        return json;
    }

    private static string? TryJsonText(string line)
    {
        var trimmed = line.TrimStart();
        if (!trimmed.StartsWith('{'))
            return null;
        try
        {
            using var document = JsonDocument.Parse(trimmed);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("text", out var text)
                   && text.ValueKind == JsonValueKind.String
                ? text.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string ReadAll(string path, Func<TextReader> stdin)
    {
        if (path == "-")
            return stdin().ReadToEnd();
        var full = Path.GetFullPath(path);
        try
        {
            return File.ReadAllText(full, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
            throw new CliRuntimeException($"cannot read --input '{full}': {reason}", e);
        }
    }
}
