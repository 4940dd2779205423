using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tests.Checkpoints;

/// <summary>
/// Mutation fuzzing of <see cref="DeclaredEmbeddingSettings.Read"/>: the Qwen3-Embedding fixture's four
/// sentence-transformers files get random values in their keys (and in the modules list's entries), random character
/// edits, or go missing. Reading must either succeed with settings the library can apply or throw
/// <see cref="CheckpointException"/> naming one of the files. LTE_FUZZ_ITERATIONS sets the budget.
/// </summary>
[Category("Fuzz")]
public class DeclaredSettingsFuzzTests
{
    private static readonly string[] Files = ["modules.json", "1_Pooling/config.json", "config_sentence_transformers.json", "sentence_bert_config.json"];

    /// <summary>Keys of all four files (an entry of modules.json for the first four).</summary>
    private static readonly string[] Keys =
    [
        "type", "path", "idx", "name", "word_embedding_dimension", "pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
        "pooling_mode_lasttoken", "pooling_mode_weightedmean_tokens", "pooling_mode", "include_prompt", "prompts", "default_prompt_name",
        "similarity_fn_name", "max_seq_length", "do_lower_case",
    ];

    private static readonly string[] Values =
    [
        "null", "0", "-1", "1", "40", "41", "8192", "2147483648", "1e308", "1.5", "true", "false", "\"\"", "\"query\"", "\"document\"", "\"lasttoken\"",
        "\"mean_tokens\"", "\"max\"", "\"cosine\"", "\"1_Pooling\"", "\"../1_Pooling\"", "\"/etc\"", "\"2_Normalize\"", "\"sub/../..\"",
        "\"sentence_transformers.models.Transformer\"", "\"sentence_transformers.models.Pooling\"", "\"sentence_transformers.models.Normalize\"",
        "\"sentence_transformers.models.Dense\"", "\"Pooling\"", "[]", "[1]", "{}", "{\"query\":\"q: \"}", "{\"query\":null}", "{\"query\":1}",
        "{\"query\":\"q\",\"document\":\"d\"}", "\"\\ud800\"", "[[[]]]",
    ];

    [Test]
    public void Mutated_sentence_transformers_files_read_consistently_or_fail_with_CheckpointException()
    {
        var iterations = Fuzzing.Iterations(1500);
        var source = TestPaths.Fixture("tiny-qwen3-embedding");
        var originals = Files.Select(file => File.ReadAllText(Path.Combine(source, file))).ToArray();
        var root = Path.Combine(Path.GetTempPath(), "lte-declared-fuzz-" + Guid.NewGuid().ToString("N"));
        var accepted = 0;
        var rejected = 0;
        // file, key, value, kind (8 removes the key, 9 deletes the file, the rest set the value), modules.json entry
        var edit = Gen.Select(Gen.Int[0, Files.Length - 1], Gen.Int[0, Keys.Length - 1], Gen.Int[0, Values.Length - 1], Gen.Int[0, 9], Gen.Int[0, 3]);
        var textEdit = Gen.Select(Gen.Int[0, Files.Length - 1], Gen.Double[0, 1], Gen.Char, Gen.Int[0, 2]);
        try
        {
            Gen.Select(edit.Array[1, 4], textEdit.Array[0, 1]).Sample((edits, textEdits) =>
            {
                var directory = Path.Combine(root, Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(Path.Combine(directory, "1_Pooling"));
                var texts = originals.Select(text => (string?)text).ToArray();
                foreach (var (file, key, value, kind, entry) in edits)
                {
                    if (texts[file] is not { } text)
                        continue;
                    if (kind == 9)
                    {
                        texts[file] = null;
                        continue;
                    }
                    texts[file] = Mutate(text, entry, Keys[key], kind == 8 ? null : Values[value]);
                }
                foreach (var (file, position, c, kind) in textEdits)
                {
                    if (texts[file] is not { } text)
                        continue;
                    var builder = new StringBuilder(text);
                    Fuzzing.EditCharacter(builder, position, c, kind);
                    texts[file] = builder.ToString();
                }
                for (var i = 0; i < Files.Length; i++)
                {
                    if (texts[i] is { } text)
                        File.WriteAllText(Path.Combine(directory, Files[i]), text);
                }
                try
                {
                    var settings = DeclaredEmbeddingSettings.Read(directory, 40);
                    if (settings is not null)
                    {
                        Assert.That(settings.PoolingMode, Is.AnyOf("lasttoken", "mean", "weightedmean"));
                        Assert.That(settings.IncludePrompt || settings.PoolingMode == "lasttoken", Is.True);
                        Assert.That(settings.MaxSeqLength is null or > 0, Is.True);
                        Assert.That(settings.DefaultPromptName is null || settings.Prompts.ContainsKey(settings.DefaultPromptName), Is.True);
                        Assert.That(settings.QueryPrompt, Is.Not.Null);
                        Assert.That(settings.DocumentPrompt, Is.Not.Null);
                    }
                    Interlocked.Increment(ref accepted);
                }
                catch (CheckpointException e)
                {
                    // One of the four files, or the pooling folder's config.json that a mutated modules.json points at.
                    Assert.That(Files.Select(file => Path.Combine(directory, file)).Contains(e.FilePath) ||
                                (e.FilePath.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal) && e.FilePath.EndsWith("config.json", StringComparison.Ordinal) &&
                                 !Path.GetRelativePath(directory, e.FilePath).Contains("..", StringComparison.Ordinal)),
                        Is.True, $"the error names a file of the model directory: {e.FilePath}: {e.Message}");
                    Interlocked.Increment(ref rejected);
                }
                finally
                {
                    Directory.Delete(directory, recursive: true);
                }
            }, iter: iterations, threads: 1);
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
        TestContext.Out.WriteLine($"sentence-transformers fuzz: {accepted} accepted, {rejected} rejected");
        Assert.That(accepted, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(0));
    }

    /// <summary>Sets (or removes, when <paramref name="value"/> is null) <paramref name="key"/> in the object, or in entry <paramref name="entry"/> of a list.</summary>
    private static string Mutate(string text, int entry, string key, string? value)
    {
        try
        {
            return MutateParsed(text, entry, key, value);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return text; // an earlier edit left JSON that System.Text.Json cannot re-read (a lone surrogate): keep it as is
        }
    }

    private static string MutateParsed(string text, int entry, string key, string? value)
    {
        var node = JsonNode.Parse(text)!;
        var target = node is JsonArray list ? list.Count > 0 ? list[entry % list.Count]!.AsObject() : null : node.AsObject();
        if (target is null)
            return text;
        var fields = Fuzzing.RawFields(target);
        if (value is null) fields.Remove(key);
        else fields[key] = value;
        var mutated = Fuzzing.ObjectText(fields);
        if (node is not JsonArray array)
            return mutated;
        var entries = array.Select(e => e!.ToJsonString()).ToArray();
        entries[entry % entries.Length] = mutated;
        return "[" + string.Join(",", entries) + "]";
    }
}
