// Semantic search over PostgreSQL + pgvector with a decoder LLM embedding model, through Microsoft.Extensions.AI and
// Microsoft.Extensions.VectorData:
//   dotnet run --project samples/PgVectorSearch -- "Host=localhost;Username=postgres;Database=postgres" /models/e5-mistral-7b-instruct "Where is OpenAI based?"
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using PgVectorSearch;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: PgVectorSearch <npgsql connection string> <model directory or hub id ORG/NAME> [query]");
    return 2;
}
var query = args.Length > 2 ? args[2] : "Where is the headquarter of OpenAI?";

var services = new ServiceCollection();
services.AddLastTokenEmbeddings(o => o.ModelDirectory = args[1]); // prompt and pooling: as the checkpoint declares, else the defaults
services.AddKeyedLastTokenEmbeddingGenerator("document", TextRole.Document);
services.AddKeyedLastTokenEmbeddingGenerator("query", TextRole.Query);
await using var provider = services.BuildServiceProvider();

await using var dataSource = await PassageStore.OpenDataSourceAsync(args[0]);
using var passages = PassageStore.Collection(dataSource, "passages",
    provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>("document"),
    provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>("query"));
await passages.EnsureCollectionExistsAsync();
await passages.UpsertAsync(
[
    new Passage { Id = 1, Text = "OpenAI is based at San Francisco.", Source = "article" },
    new Passage { Id = 2, Text = "A graphics processing unit (GPU) is an electronic circuit that accelerates computer graphics.", Source = "article" },
    new Passage { Id = 3, Text = "The llama is a domesticated South American camelid.", Source = "encyclopedia" },
]);

Console.WriteLine($"query: {query}");
await foreach (var hit in passages.SearchAsync(query, top: 3))
    Console.WriteLine($"  {hit.Score:F4}  #{hit.Record.Id} {hit.Record.Text}");
return 0;
