using System.Globalization;
using System.Text;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Output;

/// <summary>Formatting for the human-readable (table) output: invariant culture, escaped for Spectre markup.</summary>
internal static class TextFormat
{
    public static string Number(float value, int decimals = 4) =>
        value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static string Integer(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double size = bytes;
        var unit = 0;
        while (size >= 1024 && unit < units.Length - 1)
        {
            size /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{size:F1} {units[unit]} ({bytes:N0} B)");
    }

    /// <summary>A text shortened to <paramref name="max"/> characters with an ellipsis, line breaks shown as ⏎, markup-escaped.</summary>
    public static string Preview(string text, int max = 48)
    {
        var flat = new StringBuilder(text.Length);
        foreach (var c in text)
            flat.Append(c is '\n' ? '⏎' : c is '\r' or '\t' ? ' ' : c);
        var s = flat.ToString();
        if (s.Length > max)
            s = s[..(max - 1)] + "…";
        return Markup.Escape(s);
    }

    /// <summary>The first and last few values of a vector, markup-escaped.</summary>
    public static string VectorPreview(IReadOnlyList<float> vector, int head = 4)
    {
        var text = vector.Count <= head * 2
            ? "[" + string.Join(", ", vector.Select(v => Number(v))) + "]"
            : "[" + string.Join(", ", vector.Take(head).Select(v => Number(v))) + ", …, "
              + string.Join(", ", vector.Skip(vector.Count - 2).Select(v => Number(v))) + "]";
        return Markup.Escape(text);
    }
}
