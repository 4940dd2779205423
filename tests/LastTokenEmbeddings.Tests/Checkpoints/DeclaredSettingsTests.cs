using System.Text.Json.Nodes;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tests.Checkpoints;

/// <summary>The sentence-transformers files, read as sentence-transformers reads them; what the library cannot apply is refused naming the file.</summary>
public class DeclaredSettingsTests
{
    private string directory = "";

    [SetUp]
    public void CopyLayout()
    {
        directory = Path.Combine(Path.GetTempPath(), "lte-declared-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(directory, "1_Pooling"));
        var source = TestPaths.Fixture("tiny-qwen3-embedding");
        foreach (var file in new[] { "modules.json", "config_sentence_transformers.json", "sentence_bert_config.json", "1_Pooling/config.json" })
            File.Copy(Path.Combine(source, file), Path.Combine(directory, file));
    }

    [TearDown]
    public void Delete() => Directory.Delete(directory, recursive: true);

    private void Edit(string file, Action<JsonNode> edit)
    {
        var path = Path.Combine(directory, file);
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    private void AssertRefused(string file, params string[] fragments)
    {
        var error = Assert.Throws<CheckpointException>(() => DeclaredEmbeddingSettings.Read(directory, 40))!;
        Assert.That(error.FilePath, Is.EqualTo(Path.Combine(directory, file)));
        foreach (var fragment in fragments)
            Assert.That(error.Message, Does.Contain(fragment));
    }

    [Test]
    public void The_qwen3_embedding_layout_declares_last_token_normalised_and_role_prompts()
    {
        var settings = DeclaredEmbeddingSettings.Read(TestPaths.Fixture("tiny-qwen3-embedding"), 40)!;
        Assert.That(settings.PoolingMode, Is.EqualTo("lasttoken"));
        Assert.That(settings.Normalize, Is.True);
        Assert.That(settings.IncludePrompt, Is.True);
        Assert.That(settings.MaxSeqLength, Is.EqualTo(8192));
        Assert.That(settings.QueryPrompt, Is.EqualTo("Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"));
        Assert.That(settings.DocumentPrompt, Is.Empty);
        Assert.That(settings.SimilarityFunction, Is.EqualTo("cosine"));
        Assert.That(DeclaredEmbeddingSettings.Read(TestPaths.FixtureDirectory, 64), Is.Null, "no sentence-transformers files");
    }

    [Test]
    public void Prompt_selection_follows_encode_query_and_encode_document()
    {
        Edit("config_sentence_transformers.json", n =>
        {
            n["prompts"] = new JsonObject { ["query"] = "q: ", ["passage"] = "p: ", ["classification"] = "c: " };
            n["default_prompt_name"] = "classification";
        });
        var settings = DeclaredEmbeddingSettings.Read(directory, 40)!;
        Assert.That((settings.QueryPrompt, settings.DocumentPrompt), Is.EqualTo(("q: ", "p: ")));
        Edit("config_sentence_transformers.json", n => n["prompts"] = new JsonObject { ["classification"] = "c: " });
        settings = DeclaredEmbeddingSettings.Read(directory, 40)!;
        Assert.That((settings.QueryPrompt, settings.DocumentPrompt), Is.EqualTo(("c: ", "c: ")), "the default prompt when no role prompt exists");
    }

    [Test]
    public void Absent_normalize_module_means_raw_vectors_and_mean_pooling_is_read()
    {
        Edit("modules.json", n => n.AsArray().RemoveAt(2));
        Edit("1_Pooling/config.json", n =>
        {
            n["pooling_mode_lasttoken"] = false;
            n["pooling_mode_mean_tokens"] = true;
        });
        var settings = DeclaredEmbeddingSettings.Read(directory, 40)!;
        Assert.That((settings.PoolingMode, settings.Normalize), Is.EqualTo(("mean", false)));
    }

    [Test]
    public void Two_pooling_modes_are_refused() 
    {
        Edit("1_Pooling/config.json", n => n["pooling_mode_mean_tokens"] = true);
        AssertRefused("1_Pooling/config.json", "2 pooling modes", "mean", "lasttoken");
    }

    [Test]
    public void Unimplemented_pooling_modes_are_refused()
    {
        Edit("1_Pooling/config.json", n =>
        {
            n["pooling_mode_lasttoken"] = false;
            n["pooling_mode_cls_token"] = true;
        });
        AssertRefused("1_Pooling/config.json", "cls");
    }

    [Test]
    public void A_pooling_dimension_other_than_the_hidden_size_is_refused()
    {
        Edit("1_Pooling/config.json", n => n["word_embedding_dimension"] = 1024);
        AssertRefused("1_Pooling/config.json", "word_embedding_dimension", "1024", "40");
    }

    [Test]
    public void A_module_the_library_cannot_apply_is_refused()
    {
        Edit("modules.json", n => n.AsArray().Insert(2, new JsonObject { ["idx"] = 2, ["name"] = "2", ["path"] = "2_Dense", ["type"] = "sentence_transformers.models.Dense" }));
        AssertRefused("modules.json", "modules[2]", "Dense", "cannot apply");
    }

    [Test]
    public void Prompts_that_are_not_strings_and_unknown_default_prompts_are_refused()
    {
        Edit("config_sentence_transformers.json", n => n["prompts"]!["query"] = 42);
        AssertRefused("config_sentence_transformers.json", "prompts.query", "must be a string");
        Edit("config_sentence_transformers.json", n =>
        {
            n["prompts"]!["query"] = "q";
            n["default_prompt_name"] = "missing";
        });
        AssertRefused("config_sentence_transformers.json", "default_prompt_name", "missing");
    }

    [Test]
    public void Malformed_files_and_escaping_paths_are_refused()
    {
        File.WriteAllText(Path.Combine(directory, "modules.json"), "{\"not\": \"a list\"}");
        AssertRefused("modules.json", "must hold a JSON list");
        File.WriteAllText(Path.Combine(directory, "modules.json"), "[{\"type\": \"sentence_transformers.models.Transformer\", \"path\": \"\"}, {\"type\": \"sentence_transformers.models.Pooling\", \"path\": \"../elsewhere\"}]");
        AssertRefused("modules.json", "not a folder inside the model directory");
        File.WriteAllText(Path.Combine(directory, "modules.json"), "[{\"type\": \"sentence_transformers.models.Transformer\"");
        AssertRefused("modules.json", "not valid JSON");
    }

    [Test]
    public void A_pooling_folder_without_its_config_is_named()
    {
        Edit("modules.json", n => n[1]!["path"] = "9_Pooling");
        AssertRefused("9_Pooling/config.json", "not found", "modules.json", "'9_Pooling'", "modules[1]");
    }

    [Test]
    public void Lower_casing_and_excluded_prompts_for_mean_pooling_are_refused()
    {
        Edit("sentence_bert_config.json", n => n["do_lower_case"] = true);
        AssertRefused("sentence_bert_config.json", "do_lower_case");
        Edit("sentence_bert_config.json", n => n["do_lower_case"] = false);
        Edit("1_Pooling/config.json", n =>
        {
            n["pooling_mode_lasttoken"] = false;
            n["pooling_mode_mean_tokens"] = true;
            n["include_prompt"] = false;
        });
        AssertRefused("1_Pooling/config.json", "include_prompt");
    }
}
