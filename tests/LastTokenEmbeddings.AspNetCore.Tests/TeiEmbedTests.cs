using System.Net;
using LastTokenEmbeddings.AspNetCore.Tests.Support;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary>TEI's <c>POST /embed</c> gives the library's vectors for the same texts and options.</summary>
public class TeiEmbedTests
{
    private ServerHost server = null!;

    [OneTimeSetUp]
    public async Task Start() => server = await ServerHost.StartAsync(Fixtures.TinyModel);

    [OneTimeTearDown]
    public async Task Stop() => await server.DisposeAsync();

    private static float[][] Rows(System.Text.Json.JsonElement json) => [.. json.EnumerateArray().Select(row => row.Floats())];

    [Test]
    public async Task Normalised_vectors_by_default()
    {
        var expected = await Fixtures.TinyModel.EmbedAsync(Fixtures.Texts);
        var response = await server.PostJsonAsync("/embed", new { inputs = Fixtures.Texts });
        var rows = Rows(await response.JsonAsync(HttpStatusCode.OK));
        Assert.That(rows, Has.Length.EqualTo(Fixtures.Texts.Length));
        for (var i = 0; i < rows.Length; i++)
            Vectors.AssertClose(rows[i], expected[i].Vector, $"text {i}");
        Assert.That(response.Headers.GetValues("x-compute-tokens").Single(), Is.EqualTo(expected.Sum(e => e.TokenCount).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task A_body_with_a_byte_order_mark_is_read()
    {
        var json = System.Text.Encoding.UTF8.GetBytes("""{"inputs": "Hello world!"}""");
        using var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. json]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var rows = Rows(await (await server.Client.PostAsync("/embed", content)).JsonAsync(HttpStatusCode.OK));
        Vectors.AssertClose(rows[0], (await Fixtures.TinyModel.EmbedAsync("Hello world!")).Vector, "with BOM");
    }

    [Test]
    public async Task The_root_route_is_embed_as_in_TEI()
    {
        var expected = await Fixtures.TinyModel.EmbedAsync("Hello world!");
        var rows = Rows(await (await server.PostJsonAsync("/", new { inputs = "Hello world!" })).JsonAsync(HttpStatusCode.OK));
        Vectors.AssertClose(rows[0], expected.Vector, "root");
    }

    [Test]
    public async Task A_single_string_still_gives_a_list_of_vectors()
    {
        var expected = await Fixtures.TinyModel.EmbedAsync("Hello world!");
        var rows = Rows(await (await server.PostJsonAsync("/embed", new { inputs = "Hello world!" })).JsonAsync(HttpStatusCode.OK));
        Assert.That(rows, Has.Length.EqualTo(1));
        Vectors.AssertClose(rows[0], expected.Vector, "single");
    }

    [Test]
    public async Task Normalize_false_and_dimensions_match_library_views()
    {
        using var raw = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { Normalize = false });
        using var raw8 = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { Normalize = false, Dimensions = 8 });
        using var normalised8 = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { Dimensions = 8 });
        var texts = Fixtures.Texts[..3];
        foreach (var (body, model, name) in new (object, EmbeddingModel, string)[]
                 {
                     (new { inputs = texts, normalize = false }, raw, "raw"),
                     (new { inputs = texts, normalize = false, dimensions = 8 }, raw8, "raw, 8 dimensions"),
                     (new { inputs = texts, normalize = true, dimensions = 8 }, normalised8, "normalised, 8 dimensions"),
                 })
        {
            var expected = await model.EmbedAsync(texts);
            var rows = Rows(await (await server.PostJsonAsync("/embed", body)).JsonAsync(HttpStatusCode.OK));
            for (var i = 0; i < texts.Length; i++)
                Vectors.AssertClose(rows[i], expected[i].Vector, $"{name}, text {i}");
        }
    }

    [Test]
    public async Task Over_long_input_is_422_unless_truncate_which_follows_the_direction()
    {
        using var shortModel = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { MaxTokens = 12 });
        await using var host = await ServerHost.StartAsync(shortModel);
        var text = Fixtures.Texts[^1];

        var refused = await (await host.PostJsonAsync("/embed", new { inputs = text })).TeiErrorAsync(HttpStatusCode.UnprocessableEntity, "Validation");
        Assert.That(refused.GetProperty("error").GetString(), Does.StartWith("Input validation error: `inputs` must have less than 12 tokens. Given: "));

        foreach (var direction in new[] { TruncationDirection.Right, TruncationDirection.Left })
        {
            var expected = await shortModel.EmbedAsync([text], new EmbeddingCallOptions { Truncation = TruncationPolicy.Truncate, TruncationDirection = direction });
            var rows = Rows(await (await host.PostJsonAsync("/embed", new { inputs = text, truncate = true, truncation_direction = direction.ToString() })).JsonAsync(HttpStatusCode.OK));
            Vectors.AssertClose(rows[0], expected[0].Vector, direction.ToString());
        }
        var left = Rows(await (await host.PostJsonAsync("/embed", new { inputs = text, truncate = true, truncation_direction = "left" })).JsonAsync(HttpStatusCode.OK));
        var right = Rows(await (await host.PostJsonAsync("/embed", new { inputs = text, truncate = true })).JsonAsync(HttpStatusCode.OK));
        Assert.That(left[0], Is.Not.EqualTo(right[0]), "the two directions keep different tokens");
    }

    [Test]
    public async Task Over_long_token_ids_are_truncated_at_the_requested_end()
    {
        using var shortModel = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { MaxTokens = 12 });
        await using var host = await ServerHost.StartAsync(shortModel);
        var ids = Enumerable.Range(100, 20).ToArray();
        await (await host.PostJsonAsync("/embed", new { inputs = new[] { ids } })).TeiErrorAsync(HttpStatusCode.UnprocessableEntity, "Validation");

        var left = Rows(await (await host.PostJsonAsync("/embed", new { inputs = new[] { ids }, truncate = true, truncation_direction = "Left" })).JsonAsync(HttpStatusCode.OK));
        var right = Rows(await (await host.PostJsonAsync("/embed", new { inputs = new[] { ids }, truncate = true })).JsonAsync(HttpStatusCode.OK));
        var expected = await shortModel.EmbedTokenIdsAsync([ids[^12..], ids[..12]]);
        Vectors.AssertClose(left[0], expected[0].Vector, "left keeps the end");
        Vectors.AssertClose(right[0], expected[1].Vector, "right keeps the start");
    }

    [Test]
    public async Task Declared_prompt_names_are_applied_and_unknown_ones_are_422()
    {
        var directory = Fixtures.CopyWithDeclaredPrompts();
        try
        {
            using var model = EmbeddingModel.Load(directory, null, Fixtures.FloatLoad);
            Assert.That(model.Normalize, Is.False, "a checkpoint without a Normalize module does not normalise");
            await using var host = await ServerHost.StartAsync(model);
            var texts = Fixtures.Texts[..2];
            var expected = await model.EmbedAsync(texts, new EmbeddingCallOptions { PromptName = "document" });
            var plain = await model.EmbedAsync(texts, new EmbeddingCallOptions());

            var rows = Rows(await (await host.PostJsonAsync("/embed", new { inputs = texts, prompt_name = "document", normalize = false })).JsonAsync(HttpStatusCode.OK));
            for (var i = 0; i < texts.Length; i++)
            {
                Vectors.AssertClose(rows[i], expected[i].Vector, $"document prompt, text {i}");
                Assert.That(rows[i], Is.Not.EqualTo(plain[i].Vector), "the prompt changed the input");
            }
            var normalised = Rows(await (await host.PostJsonAsync("/embed", new { inputs = texts, prompt_name = "document" })).JsonAsync(HttpStatusCode.OK));
            var norm = Math.Sqrt(expected[0].Vector.Sum(v => (double)v * v));
            Vectors.AssertClose(normalised[0], [.. expected[0].Vector.Select(v => (float)(v / norm))], "normalised by the server");

            var unknown = await (await host.PostJsonAsync("/embed", new { inputs = texts, prompt_name = "passage" })).TeiErrorAsync(HttpStatusCode.UnprocessableEntity, "Validation");
            Assert.That(unknown.GetProperty("error").GetString(), Does.Contain("document, query"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task Unknown_prompt_name_on_a_model_without_prompts_is_422()
    {
        await (await server.PostJsonAsync("/embed", new { inputs = "x", prompt_name = "query" })).TeiErrorAsync(HttpStatusCode.UnprocessableEntity, "Validation");
    }

    [Test]
    public async Task Token_ids_are_accepted_as_TEI_accepts_them()
    {
        var ids = Fixtures.TinyModel.Tokenize("What is GPU?");
        var expected = await Fixtures.TinyModel.EmbedAsync("What is GPU?");
        var single = Rows(await (await server.PostJsonAsync("/embed", new { inputs = ids })).JsonAsync(HttpStatusCode.OK));
        var batch = Rows(await (await server.PostJsonAsync("/embed", new { inputs = new[] { ids, ids } })).JsonAsync(HttpStatusCode.OK));
        Vectors.AssertClose(single[0], expected.Vector, "single");
        Assert.That(batch, Has.Length.EqualTo(2));
        Vectors.AssertClose(batch[1], expected.Vector, "batch");
    }

    [TestCase("""{"inputs": []}""", HttpStatusCode.BadRequest, "Empty")]
    [TestCase("""{"inputs": "x", "normalize": "yes"}""", HttpStatusCode.UnprocessableEntity, "Validation")]
    [TestCase("""{"inputs": "x", "truncation_direction": "Up"}""", HttpStatusCode.UnprocessableEntity, "Validation")]
    [TestCase("""{"inputs": "x", "dimensions": 100}""", HttpStatusCode.UnprocessableEntity, "Validation")]
    [TestCase("""{"inputs": {"text": "x"}}""", HttpStatusCode.UnprocessableEntity, "Validation")]
    [TestCase("""{"input": "x"}""", HttpStatusCode.UnprocessableEntity, "Validation")]
    [TestCase("""["x"]""", HttpStatusCode.UnprocessableEntity, "Validation")]
    public async Task Invalid_requests_get_TEI_errors(string body, HttpStatusCode status, string errorType)
    {
        await (await server.PostAsync("/embed", body)).TeiErrorAsync(status, errorType);
    }
}
