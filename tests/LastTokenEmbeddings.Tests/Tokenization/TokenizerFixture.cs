using System.Text.Json;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Tokenization;

/// <summary>Shared tokenizer and JSON fixtures (loaded once).</summary>
internal static class TokenizerFixture
{
    private static readonly Lazy<ModelTokenizer> LazyTokenizer = new(() => ModelTokenizer.LoadSentencePiece(ModelPath));
    private static readonly Lazy<JsonDocument> LazyReference =
        new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.FixtureDirectory, "reference.json"))));

    public static string ModelPath => Path.Combine(TestPaths.FixtureDirectory, "tokenizer.model");

    public static ModelTokenizer Tokenizer => LazyTokenizer.Value;

    public static string E5Task => LazyReference.Value.RootElement.GetProperty("e5_task").GetString()!;

    /// <summary>One entry per reference.json text: (index, text, raw, chat, e5).</summary>
    public static IReadOnlyList<ReferenceText> ReferenceTexts() =>
        LazyReference.Value.RootElement.GetProperty("texts").EnumerateArray()
            .Select(t => new ReferenceText(
                t.GetProperty("index").GetInt32(),
                t.GetProperty("text").GetString()!,
                Ids(t.GetProperty("ids").GetProperty("raw")),
                Ids(t.GetProperty("ids").GetProperty("chat")),
                Ids(t.GetProperty("ids").GetProperty("e5"))))
            .ToList();

    /// <summary>The twelve tokenizer-cases.json entries (ids include BOS).</summary>
    public static IReadOnlyList<(string Text, int[] Ids)> TokenizerCases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.TokenizerCasesPath));
        return doc.RootElement.EnumerateArray()
            .Select(c => (c.GetProperty("text").GetString()!, Ids(c.GetProperty("ids"))))
            .ToList();
    }

    private static int[] Ids(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    internal sealed record ReferenceText(int Index, string Text, int[] Raw, int[] Chat, int[] E5);
}
