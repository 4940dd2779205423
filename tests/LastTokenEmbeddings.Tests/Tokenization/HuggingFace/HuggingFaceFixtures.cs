using System.Text.Json;
using LastTokenEmbeddings.Tokenization.HuggingFace;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>The vendored checkpoints' tokenizer files and reference ids, loaded once per test run.</summary>
internal static class HuggingFaceFixtures
{
    /// <summary>tests/fixtures/{name}, found next to the tiny-mistral fixture.</summary>
    public static string Directory(string name) => Path.Combine(Path.GetDirectoryName(TestPaths.FixtureDirectory)!, name);

    private static readonly Dictionary<string, Lazy<HuggingFaceTokenizer>> Tokenizers = new[]
    {
        "tiny-qwen3", "tiny-qwen3-embedding", "tiny-qwen2", "tiny-llama", "tiny-llama3-rope", "tiny-mistral",
    }.ToDictionary(name => name, name => new Lazy<HuggingFaceTokenizer>(() => LoadFolder(name)));

    /// <summary>The folder's tokenizer.json with its tokenizer_config.json and special_tokens_map.json (when present).</summary>
    public static HuggingFaceTokenizer Tokenizer(string name) => Tokenizers[name].Value;

    public static HuggingFaceTokenizer LoadFolder(string name)
    {
        string folder = Directory(name);
        return HuggingFaceTokenizer.Load(
            Path.Combine(folder, "tokenizer.json"),
            Path.Combine(folder, "tokenizer_config.json"),
            Path.Combine(folder, "special_tokens_map.json"));
    }

    /// <summary>reference.json's texts with their ids per mode.</summary>
    public static IReadOnlyList<(string Text, Dictionary<string, int[]> Ids)> References(string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory(name), "reference.json")));
        return document.RootElement.GetProperty("texts").EnumerateArray()
            .Select(t => (t.GetProperty("text").GetString()!,
                t.GetProperty("ids").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(e => e.GetInt32()).ToArray())))
            .ToList();
    }

    public static string ReferenceString(string name, string key)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory(name), "reference.json")));
        return document.RootElement.GetProperty(key).GetString()!;
    }

    /// <summary>tokenizer-cases.json: twelve texts with the real Mistral 7B ids (BOS included).</summary>
    public static IReadOnlyList<(string Text, int[] Ids)> MistralCases()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(TestPaths.TokenizerCasesPath));
        return document.RootElement.EnumerateArray()
            .Select(c => (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray()))
            .ToList();
    }

    /// <summary>Oracle/oracle-cases.json beside these tests: what the tokenizers library itself returned (see generate-oracle-cases.js).</summary>
    public static string OracleCasesPath
    {
        get
        {
            string fixtures = Path.GetDirectoryName(TestPaths.FixtureDirectory)!; // tests/fixtures
            return Path.Combine(Path.GetDirectoryName(fixtures)!, "LastTokenEmbeddings.Tests", "Tokenization", "HuggingFace", "Oracle", "oracle-cases.json");
        }
    }

    /// <summary>PrefixIds + Encode(text) + SuffixIds: transformers' <c>tokenizer(text).input_ids</c>.</summary>
    public static int[] WithSpecialTokens(this HuggingFaceTokenizer tokenizer, string text) =>
        [.. tokenizer.PrefixIds, .. tokenizer.Encode(text), .. tokenizer.SuffixIds];
}
