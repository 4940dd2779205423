using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Tokenization.HuggingFace;

namespace LastTokenEmbeddings.Tests.Tokenization.HuggingFace;

/// <summary>
/// Mutation fuzzing of <see cref="HuggingFaceTokenizer.Load"/>: small valid tokenizer.json and tokenizer_config.json
/// files get random values of random JSON types at random places, removed fields and random character edits.
/// Loading must give a working tokenizer (ids in range, decoding fine) or a <see cref="CheckpointException"/>,
/// never another exception or a hang. LTE_FUZZ_ITERATIONS sets the budget.
/// </summary>
[Category("Fuzz")]
public class TokenizerJsonFuzzTests
{
    private static readonly string[] Values =
    [
        "null", "0", "-1", "1", "2", "255", "256", "259", "261", "262", "263", "100000", "2147483647", "2147483648", "1.5", "1e300", "true", "false",
        "\"\"", "\"a\"", "\"Ġ\"", "\"▁\"", "\"he\"", "\"<|end|>\"", "\"<x>\"", "\"<s>\"", "\"@LONE@\"", "\"1.0\"", "\"BPE\"", "\"WordPiece\"", "\"Sequence\"",
        "\"Split\"", "\"ByteLevel\"", "\"Metaspace\"", "\"NFC\"", "\"Isolated\"", "\"Removed\"", "\"Contiguous\"", "\"first\"", "\"never\"", "\"A\"", "\"B\"",
        "[]", "[1]", "[\"h\", \"e\"]", "[\"he ll\"]", "[[]]", "{}", new string('[', 40) + "1" + new string(']', 40),
        "{\"type\": \"NFC\"}", "{\"type\": \"Lowercase\"}", "{\"type\": \"Prepend\", \"prepend\": \"▁\"}",
        "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"content\": \"_\"}",
        "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?:(?:a|aa)+)+(?!a)b\"}, \"behavior\": \"Isolated\", \"invert\": false}",
        "{\"type\": \"Split\", \"pattern\": {\"String\": \"l\"}, \"behavior\": \"MergedWithNext\", \"invert\": true}",
        "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": true}",
        "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"use_regex\": true}",
        "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"ByteLevel\", \"add_prefix_space\": false}]}",
        "{\"String\": \" \"}", "{\"Regex\": \"[a-z]+\"}", "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}", "{\"SpecialToken\": {\"id\": \"<|end|>\", \"type_id\": 0}}",
        "{\"id\": 263, \"content\": \"<new>\", \"single_word\": true, \"lstrip\": true, \"rstrip\": true, \"normalized\": true, \"special\": false}",
        "{\"id\": 261, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": false}",
        "{\"type\": \"BertProcessing\", \"sep\": [\"<|end|>\", 261], \"cls\": [\"<x>\", 262]}",
        "{\"type\": \"ByteFallback\"}", "{\"type\": \"Strip\", \"content\": \" \", \"start\": 9, \"stop\": 9}",
    ];

    private static readonly string[] Flags = ["true", "false", "true", "false", "null", "\"yes\""];

    private static readonly string[] NamedTokens =
        ["\"<|end|>\"", "\"<x>\"", "\"<s>\"", "\"<brand new>\"", "null", "{\"content\": \"<new>\", \"lstrip\": true}", "\"\"", "\"he\"", "\"<|end|>\"", "\"\\udc00\"", "[1]"];

    /// <summary>tokenizer_config.json keys with values of mostly the right type.</summary>
    private static readonly (string Key, string[] Values)[] ConfigEdits =
    [
        ("tokenizer_class", ["\"LlamaTokenizer\"", "\"Qwen2Tokenizer\"", "\"GemmaTokenizerFast\"", "null", "7"]),
        ("add_bos_token", Flags), ("add_eos_token", Flags), ("add_prefix_space", Flags), ("split_special_tokens", Flags), ("legacy", Flags),
        ("bos_token", NamedTokens), ("eos_token", NamedTokens), ("pad_token", NamedTokens), ("unk_token", NamedTokens),
        ("added_tokens_decoder",
        [
            "{\"261\": {\"content\": \"<|end|>\", \"special\": true, \"rstrip\": true}}", "{\"263\": {\"content\": \"<new>\", \"special\": false, \"single_word\": true}}",
            "{\"1\": {\"content\": \"<s>\", \"special\": true, \"lstrip\": true}}", "{\"5\": {\"content\": \"<new>\"}}", "{\"x\": {}}", "{}", "[]",
        ]),
        ("additional_special_tokens", ["[\"<x>\", \"<y>\"]", "[{\"content\": \"<z>\"}]", "[]", "\"<x>\""]),
        ("extra_special_tokens", ["{\"bos\": \"<x>\"}", "[\"<w>\"]", "{}"]),
    ];

    private static readonly string[] Texts = ["hello world", "hell<|end|>o <x>", "  a  ", "é🦙\n\tx", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", ""];

    [Test]
    public void Mutated_tokenizer_files_load_consistently_or_fail_with_CheckpointException()
    {
        var iterations = Fuzzing.Iterations(1000);
        string[] originals = [TokenizerJsonSamples.ByteLevel(), TokenizerJsonSamples.Piece()];
        int accepted = 0, rejected = 0;
        string directory = Path.Combine(Path.GetTempPath(), "lte-hf-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            // CsCheck picks the seed and the counts; positions come from a Random on that seed, because generated
            // doubles and small ints lean towards their bounds and would edit the first field most of the time.
            // A quarter of the runs edit only the config, so that more mutants load and get exercised.
            Gen.Select(Gen.Int[0, 1], Gen.Int, Gen.Int[0, 3], Gen.Int[0, 9], Gen.Int[0, 3]).Sample((which, seed, editCount, textEditDie, configCount) =>
            {
                var random = new Random(seed);
                string json = editCount == 0 ? originals[which] : Mutate(originals[which], random, editCount, textEdit: textEditDie < 2);
                string config = "{" + string.Join(",", Enumerable.Range(0, configCount).Select(_ =>
                {
                    var (key, values) = ConfigEdits[random.Next(ConfigEdits.Length)];
                    return $"\"{key}\": {values[random.Next(values.Length)]}";
                })) + "}";
                string id = Guid.NewGuid().ToString("N");
                string jsonPath = Path.Combine(directory, id + ".tokenizer.json"), configPath = Path.Combine(directory, id + ".tokenizer_config.json");
                File.WriteAllText(jsonPath, json);
                File.WriteAllText(configPath, config);
                try
                {
                    HuggingFaceTokenizer tokenizer;
                    try
                    {
                        tokenizer = HuggingFaceTokenizer.Load(jsonPath, configCount > 0 ? configPath : null, null, TimeSpan.FromMilliseconds(100));
                    }
                    catch (CheckpointException e)
                    {
                        Assert.That(e.FilePath, Is.EqualTo(jsonPath).Or.EqualTo(configPath));
                        Interlocked.Increment(ref rejected);
                        return;
                    }
                    Interlocked.Increment(ref accepted);
                    Exercise(tokenizer, jsonPath);
                }
                finally
                {
                    File.Delete(jsonPath);
                    File.Delete(configPath);
                }
            }, iter: iterations, seed: "0000002hf9x1");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
        TestContext.Out.WriteLine($"tokenizer.json fuzz: {accepted} accepted, {rejected} rejected");
        Assert.That(accepted, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(0));
    }

    private static void Exercise(HuggingFaceTokenizer tokenizer, string jsonPath)
    {
        Assert.That(tokenizer.PrefixIds.Concat(tokenizer.SuffixIds), Is.All.InRange(0, Math.Max(0, tokenizer.VocabularySize - 1)));
        foreach (var text in Texts)
        {
            foreach (var parse in new bool?[] { null, false })
            {
                int[] ids;
                try
                {
                    ids = tokenizer.Encode(text, parse);
                }
                catch (CheckpointException e)
                {
                    // Only a regex from the file that runs past its time limit may stop an encode.
                    Assert.That(e.FilePath, Is.EqualTo(jsonPath));
                    Assert.That(e.Message, Does.Contain("too slow"));
                    continue;
                }
                Assert.That(ids, Is.All.InRange(0, tokenizer.VocabularySize - 1), text);
                Assert.That(tokenizer.Decode(ids), Is.Not.Null);
                Assert.That(tokenizer.Decode(ids, skipSpecialTokens: false), Is.Not.Null);
                foreach (var id in ids)
                    Assert.That(tokenizer.IdToToken(id), Is.Not.Null, "every produced id has a token");
            }
        }
        _ = tokenizer.TokenToId("he");
        _ = tokenizer.IsSpecial(261);
    }

    /// <summary>Replaces, removes or adds values at random places (mostly outside the big vocabulary), then maybe edits a character.</summary>
    private static string Mutate(string original, Random random, int edits, bool textEdit)
    {
        var root = JsonNode.Parse(original)!;
        for (int e = 0; e < edits; e++)
        {
            var places = new List<(JsonNode Parent, string? Key, int Index)>();
            Collect(root, places, inVocabulary: false);
            var (parent, key, index) = places[random.Next(places.Count)];
            JsonNode? replacement = JsonNode.Parse(Values[random.Next(Values.Length)]);
            int kind = random.Next(4);
            if (parent is JsonObject obj && key is not null)
            {
                if (kind == 0) obj.Remove(key);
                else obj[key] = replacement;
            }
            else if (parent is JsonArray array)
            {
                if (kind == 0) array.RemoveAt(index);
                else if (kind == 1) array.Insert(index, replacement);
                else array[index] = replacement;
            }
        }
        // A lone-surrogate escape cannot pass through JsonNode, so it goes in as text.
        var text = new StringBuilder(root.ToJsonString().Replace("@LONE@", "\\ud800", StringComparison.Ordinal));
        if (textEdit)
        {
            int at = random.Next(text.Length);
            const string characters = "{}[]\",:0a\\ \u0000é";
            char c = characters[random.Next(characters.Length)];
            switch (random.Next(3))
            {
                case 0: text.Insert(at, c); break;
                case 1: text.Remove(at, 1); break;
                default: text[at] = c; break;
            }
        }
        return text.ToString();
    }

    private static void Collect(JsonNode node, List<(JsonNode Parent, string? Key, int Index)> places, bool inVocabulary)
    {
        if (node is JsonObject obj)
        {
            int i = 0;
            foreach (var (key, child) in obj.ToList())
            {
                // Ten in a hundred vocabulary entries are candidates, so the pipeline parts get most of the edits.
                if (!inVocabulary || i++ % 10 == 0)
                    places.Add((obj, key, 0));
                if (child is not null)
                    Collect(child, places, inVocabulary || key == "vocab");
            }
        }
        else if (node is JsonArray array)
        {
            for (int i = 0; i < array.Count; i++)
            {
                places.Add((array, null, i));
                if (array[i] is { } child)
                    Collect(child, places, inVocabulary);
            }
        }
    }
}
