using System.Text.Json;
using System.Text.Json.Nodes;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Tokenization.HuggingFace;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>
/// Compares with ids and decoded strings that the Hugging Face tokenizers library (Rust, through its official
/// Node binding) produced: Oracle/oracle-cases.json, made by Oracle/generate-oracle-cases.js. The fixture
/// tokenizers are loaded from tokenizer.json alone here, as the library loads them; the synthetic ones each
/// exercise one feature (split behaviors, added-token flags, Metaspace schemes, unk and byte fallback, BPE options,
/// post-processors, normalizers, decoders).
/// </summary>
public class OracleTests
{
    private static readonly Lazy<JsonNode> Oracle = new(() => JsonNode.Parse(File.ReadAllBytes(HuggingFaceFixtures.OracleCasesPath))!);

    private static readonly Dictionary<string, HuggingFaceTokenizer> Loaded = [];

    private static HuggingFaceTokenizer Synthetic(int index)
    {
        lock (Loaded)
        {
            string key = "synthetic" + index;
            if (Loaded.TryGetValue(key, out var cached))
                return cached;
            var tokenizer = Oracle.Value["synthetic"]![index]!["tokenizer"]!.DeepClone().AsObject();
            tokenizer["model"] = Oracle.Value["models"]![tokenizer["model"]!.GetValue<string>()]!.DeepClone();
            string path = Path.Combine(Path.GetTempPath(), $"lte-oracle-{Environment.ProcessId}-{index}.json");
            File.WriteAllText(path, tokenizer.ToJsonString());
            try
            {
                return Loaded[key] = HuggingFaceTokenizer.Load(path);
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    private static HuggingFaceTokenizer Fixture(string name)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(name, out var tokenizer))
                Loaded[name] = tokenizer = HuggingFaceTokenizer.Load(Path.Combine(HuggingFaceFixtures.Directory(name), "tokenizer.json"));
            return tokenizer;
        }
    }

    private static string TextOf(JsonNode item) => item is JsonValue value
        ? value.GetValue<string>()
        : item["prefix"]!.GetValue<string>() + string.Concat(Enumerable.Repeat(item["repeat"]!.GetValue<string>(), item["times"]!.GetValue<int>())) + item["suffix"]!.GetValue<string>();

    private static int[] Ids(JsonNode? node) => node!.AsArray().Select(n => n!.GetValue<int>()).ToArray();

    private static void Check(HuggingFaceTokenizer tokenizer, JsonNode expected)
    {
        string text = TextOf(expected["text"]!);
        string label = JsonField.Shorten(text);
        int[] full = Ids(expected["withSpecialTokens"]);
        Assert.That(tokenizer.Encode(text), Is.EqualTo(Ids(expected["ids"])), $"ids of '{label}'");
        Assert.That(tokenizer.WithSpecialTokens(text), Is.EqualTo(full), $"ids with special tokens of '{label}'");
        if (expected["decoded"] is { } decoded)
        {
            Assert.That(tokenizer.Decode(full), Is.EqualTo(decoded.GetValue<string>()), $"decoding '{label}'");
            Assert.That(tokenizer.Decode(full, skipSpecialTokens: false), Is.EqualTo(expected["decodedWithSpecial"]!.GetValue<string>()), $"decoding '{label}' with special tokens");
        }
        else
        {
            Assert.That(tokenizer.Decode(full) == text, Is.EqualTo(expected["decodedIsText"]!.GetValue<bool>()), $"decoding '{label}'");
            Assert.That(tokenizer.Decode(full, skipSpecialTokens: false) == text, Is.EqualTo(expected["decodedWithSpecialIsText"]!.GetValue<bool>()), $"decoding '{label}' with special tokens");
        }
    }

    private static IEnumerable<TestCaseData> FixtureCases()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(HuggingFaceFixtures.OracleCasesPath));
        foreach (var fixture in document.RootElement.GetProperty("fixtures").EnumerateObject())
        {
            int count = fixture.Value.GetProperty("cases").GetArrayLength();
            for (int i = 0; i < count; i++)
                yield return new TestCaseData(fixture.Name, i).SetName($"{fixture.Name} oracle text #{i}");
        }
    }

    [TestCaseSource(nameof(FixtureCases))]
    public void Fixture_tokenizer_matches_the_library(string fixture, int index) =>
        Check(Fixture(fixture), Oracle.Value["fixtures"]![fixture]!["cases"]![index]!);

    [TestCase("tiny-qwen3")]
    [TestCase("tiny-llama")]
    public void Fixture_decoding_matches_the_library(string fixture)
    {
        foreach (var item in Oracle.Value["fixtures"]![fixture]!["decodes"]!.AsArray())
        {
            int[] ids = Ids(item!["ids"]);
            Assert.That(Fixture(fixture).Decode(ids), Is.EqualTo(item["decoded"]!.GetValue<string>()));
            Assert.That(Fixture(fixture).Decode(ids, skipSpecialTokens: false), Is.EqualTo(item["decodedWithSpecial"]!.GetValue<string>()));
        }
    }

    [TestCase("tiny-qwen3")]
    [TestCase("tiny-llama")]
    public void Special_tokens_as_text_match_the_library_with_encode_special_tokens(string fixture)
    {
        foreach (var item in Oracle.Value["splitSpecialTokens"]![fixture]!.AsArray())
        {
            string text = TextOf(item!["text"]!);
            Assert.That(Fixture(fixture).Encode(text, parseSpecialTokens: false), Is.EqualTo(Ids(item["ids"])), text);
        }
    }

    private static IEnumerable<TestCaseData> SyntheticCases()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(HuggingFaceFixtures.OracleCasesPath));
        int index = 0;
        foreach (var spec in document.RootElement.GetProperty("synthetic").EnumerateArray())
            yield return new TestCaseData(index++).SetName($"Synthetic: {spec.GetProperty("name").GetString()}");
    }

    [TestCaseSource(nameof(SyntheticCases))]
    public void Synthetic_tokenizer_matches_the_library(int index)
    {
        var spec = Oracle.Value["synthetic"]![index]!;
        if (spec["refused"]!.GetValue<bool>())
        {
            // Patterns whose Oniguruma meaning .NET cannot reproduce (the oracle shows the difference) are refused.
            var error = Assert.Throws<CheckpointException>(() => Synthetic(index))!;
            Assert.That(error.Message, Does.Contain("the regular expression is not supported"));
            return;
        }
        var tokenizer = Synthetic(index);
        Assert.Multiple(() =>
        {
            foreach (var expected in spec["cases"]!.AsArray())
                Check(tokenizer, expected!);
            foreach (var item in spec["decodes"]!.AsArray())
            {
                int[] ids = Ids(item!["ids"]);
                Assert.That(tokenizer.Decode(ids), Is.EqualTo(item["decoded"]!.GetValue<string>()), $"decoding [{string.Join(", ", ids)}]");
                Assert.That(tokenizer.Decode(ids, skipSpecialTokens: false), Is.EqualTo(item["decodedWithSpecial"]!.GetValue<string>()), $"decoding [{string.Join(", ", ids)}] with special tokens");
            }
        });
    }
}
