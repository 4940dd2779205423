using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace LastTokenEmbeddings.Tests;

/// <summary>What the mutation fuzzers share: their budget and their character edits.</summary>
internal static class Fuzzing
{
    /// <summary>Iterations: <c>LTE_FUZZ_ITERATIONS</c> where set to a positive number (long runs), else <paramref name="defaultIterations"/>.</summary>
    public static int Iterations(int defaultIterations) =>
        int.TryParse(Environment.GetEnvironmentVariable("LTE_FUZZ_ITERATIONS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : defaultIterations;

    /// <summary>One character edit at the fraction <paramref name="position"/> of the text: kind 0 inserts <paramref name="c"/>, 1 deletes, 2 replaces.</summary>
    public static void EditCharacter(StringBuilder text, double position, char c, int kind)
    {
        var at = (int)(position * text.Length);
        if (kind == 0) text.Insert(at, c);
        else if (kind == 1 && at < text.Length) text.Remove(at, 1);
        else if (at < text.Length) text[at] = c;
    }

    /// <summary>An object's fields as raw JSON text per key, so mutated values (a lone-surrogate escape) reach the parser untouched.</summary>
    public static Dictionary<string, string> RawFields(JsonObject json) =>
        json.ToDictionary(p => p.Key, p => p.Value?.ToJsonString() ?? "null");

    /// <summary>The JSON object text of raw fields.</summary>
    public static string ObjectText(IEnumerable<KeyValuePair<string, string>> rawFields) =>
        "{" + string.Join(",", rawFields.Select(p => $"\"{p.Key}\":{p.Value}")) + "}";
}
