using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LastTokenEmbeddings.Cli.Output;

/// <summary>
/// Writes the <c>--format json</c> documents: one compact JSON object and a line break on stdout. Floats are written in
/// their shortest round-trippable form; non-finite ones as the strings "NaN", "Infinity", "-Infinity".
/// </summary>
internal static class JsonOutput
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keep non-ASCII text readable; still valid JSON
    };

    /// <summary>Writes the object that <paramref name="body"/> fills (the braces are written here).</summary>
    public static void Write(TextWriter output, Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        output.WriteLine(Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
        output.Flush();
    }

    /// <summary>A float in its shortest round-trippable form, or a string for NaN and infinities.</summary>
    public static void WriteFloat(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
            writer.WriteNumberValue(value);
        else
            writer.WriteStringValue(float.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }

    public static void WriteFloatArray(Utf8JsonWriter writer, string name, ReadOnlySpan<float> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
            WriteFloat(writer, value);
        writer.WriteEndArray();
    }

    public static void WriteIntArray(Utf8JsonWriter writer, string name, ReadOnlySpan<int> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
            writer.WriteNumberValue(value);
        writer.WriteEndArray();
    }
}
