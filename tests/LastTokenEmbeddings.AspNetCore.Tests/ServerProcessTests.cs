using System.Net;
using System.Net.Http.Headers;
using LastTokenEmbeddings.AspNetCore.Tests.Support;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary>The shipped host, started as a child process on a free loopback port, seen from outside.</summary>
public class ServerProcessTests
{
    private const string Key = "sk-contract-test-4f1c";

    [Test]
    public async Task The_host_serves_health_openai_and_tei_and_stops_on_sigterm()
    {
        var text = "Where is the headquarter of OpenAI?";
        using var server = ServerProcess.Start(
            ["--model", Fixtures.TinyMistralDirectory, "--port", "0", "--dtype", "float32", "--max-client-batch-size", "4"],
            new Dictionary<string, string> { ["LTE_API_KEY"] = Key });
        var address = await server.WaitUntilListeningAsync(TimeSpan.FromMinutes(2));
        Assert.That(address.Host, Is.EqualTo("127.0.0.1"), "loopback by default");
        using var client = new HttpClient { BaseAddress = address };
        await server.WaitUntilHealthyAsync(client, TimeSpan.FromMinutes(1));

        var expected = (await Fixtures.TinyModel.EmbedAsync([text, "What is GPU?"])).Select(e => e.Vector).ToArray();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);

        var openai = await (await client.PostAsync("/v1/embeddings", Json(new { input = new[] { text, "What is GPU?" }, model = "tiny-mistral" }))).JsonAsync(HttpStatusCode.OK);
        for (var i = 0; i < 2; i++)
            Vectors.AssertClose(openai.GetProperty("data")[i].GetProperty("embedding").Floats(), expected[i], $"/v1/embeddings {i}");

        var tei = await (await client.PostAsync("/embed", Json(new { inputs = new[] { text, "What is GPU?" } }))).JsonAsync(HttpStatusCode.OK);
        for (var i = 0; i < 2; i++)
            Vectors.AssertClose(tei[i].Floats(), expected[i], $"/embed {i}");

        var info = await (await client.GetAsync("/info")).JsonAsync(HttpStatusCode.OK);
        Assert.That(info.GetProperty("max_client_batch_size").GetInt32(), Is.EqualTo(4), "a limit from the command line");
        await (await client.PostAsync("/embed", Json(new { inputs = Enumerable.Repeat("x", 5) }))).TeiErrorAsync(HttpStatusCode.RequestEntityTooLarge, "Validation");

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        Assert.That((await client.PostAsync("/embed", Json(new { inputs = text }))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));

        await server.StopAsync(TimeSpan.FromSeconds(60));
        Assert.That(server.ExitCode, Is.EqualTo(0), server.Output);
        Assert.That(server.Output, Does.Not.Contain(Key), "logs never show the API key");
        Assert.That(server.Output, Does.Not.Contain("headquarter"), "logs never show request text");
        Assert.That(server.Output, Does.Contain("openai_embeddings 200"), "one structured line per request");
    }

    [Test]
    public async Task A_missing_model_exits_1_with_a_message()
    {
        using var server = ServerProcess.Start(["--model", Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid().ToString("N")), "--port", "0"]);
        await server.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.That(server.ExitCode, Is.EqualTo(1), server.Output);
        Assert.That(server.Output, Does.Contain("lte-server: error:"));
    }

    [Test]
    public async Task A_bad_command_line_exits_2()
    {
        using var server = ServerProcess.Start(["--port", "0"]);
        await server.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.That(server.ExitCode, Is.EqualTo(2), server.Output);
        Assert.That(server.Output, Does.Contain("--model"));
    }

    [Test]
    public async Task Help_exits_0_and_never_prints_the_key_from_the_environment()
    {
        using var server = ServerProcess.Start(["--help"], new Dictionary<string, string> { ["LTE_API_KEY"] = Key });
        await server.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.That(server.ExitCode, Is.EqualTo(0), server.Output);
        Assert.That(server.Output, Does.Contain("--max-concurrent-requests").And.Not.Contain(Key));
    }

    private static StringContent Json(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}
