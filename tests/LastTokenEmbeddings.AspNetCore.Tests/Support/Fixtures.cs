using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;

namespace LastTokenEmbeddings.AspNetCore.Tests.Support;

/// <summary>The vendored tiny model (float32, so vectors compare exactly) and texts to embed with it.</summary>
public static class Fixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LastTokenEmbeddings.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("LastTokenEmbeddings.sln not found above " + TestContext.CurrentContext.TestDirectory);
    });

    private static readonly Lazy<EmbeddingModel> Model = new(() => EmbeddingModel.Load(TinyMistralDirectory, null, FloatLoad));

    /// <summary>The repository root.</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>tests/fixtures/tiny-mistral.</summary>
    public static string TinyMistralDirectory => Path.Combine(Root.Value, "tests", "fixtures", "tiny-mistral");

    /// <summary>float32 compute, so the server's vectors and the library's agree to float rounding.</summary>
    public static ModelLoadOptions FloatLoad => new() { DType = ComputeDType.Float32 };

    /// <summary>The tiny model, loaded once for the whole run (disposed by <see cref="FixtureLifetime"/>).</summary>
    public static EmbeddingModel TinyModel => Model.Value;

    /// <summary>Whether <see cref="TinyModel"/> was loaded.</summary>
    internal static bool TinyModelLoaded => Model.IsValueCreated;

    /// <summary>Texts of several shapes: short, long, unicode, whitespace.</summary>
    public static readonly string[] Texts =
    [
        "Where is the headquarter of OpenAI?",
        "What is GPU?",
        "OpenAI is based at San Francisco.",
        "镇 🦙 naïve café — ünïcödé",
        "  leading and trailing spaces  ",
        "Line one\nLine two\ttabbed",
        string.Join(' ', Enumerable.Repeat("The llama is a domesticated South American camelid.", 12)),
    ];

    /// <summary>
    /// A copy of tiny-mistral whose sentence-transformers config declares prompts <c>query</c> ("query: ") and
    /// <c>document</c> ("passage: "), as checkpoints that TEI's <c>prompt_name</c> addresses do. The caller deletes it.
    /// </summary>
    public static string CopyWithDeclaredPrompts()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lte-serving-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.GetFiles(TinyMistralDirectory))
        {
            var name = Path.GetFileName(file);
            if (name is not ("tokenizer.json" or "reference.json" or "reference.safetensors"))
                File.Copy(file, Path.Combine(directory, name));
        }
        File.WriteAllText(Path.Combine(directory, "config_sentence_transformers.json"),
            """{"prompts": {"query": "query: ", "document": "passage: "}, "default_prompt_name": null}""");
        return directory;
    }
}

/// <summary>Disposes the shared model once every test has run.</summary>
[SetUpFixture]
public sealed class FixtureLifetime
{
    /// <summary>Releases the tiny model.</summary>
    [OneTimeTearDown]
    public void DisposeModel()
    {
        if (Fixtures.TinyModelLoaded)
            Fixtures.TinyModel.Dispose();
    }
}
